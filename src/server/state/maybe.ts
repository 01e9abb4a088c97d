// A value a backend has now (one node) or once Redis answers (a cluster): state/backend.ts.

export type Maybe<T> = T | Promise<T>;

/** Run `next` with the value now when it is here, or once it arrives. */
export function whenReady<T>(value: Maybe<T>, next: (value: T) => void): void | Promise<void> {
  if (value instanceof Promise) return value.then(next);
  next(value);
}

/** `next` of the value: at once when it is here, else a promise of it. */
export function mapReady<T, U>(value: Maybe<T>, next: (value: T) => U): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
