export * from './messages.js';
export * from './names.js';
export * from './parse.js';
export * from './encode.js';
export * from './line-decoder.js';
export * from './voice.js';
export * from './passwords.js';
export * from './moderation.js';
