// A secret (a password) the core asks the user for: the view that can read one without echo registers itself,
// shows the prompt, and hands the answer back. What is typed never goes through submit(): it is not a message,
// not a command, and not in the input history.

/** One question being asked: exactly one of answer or cancel is called. */
export interface SecretQuestion {
  readonly prompt: string;
  answer(secret: string): void;
  cancel(): void;
}

export class SecretPrompts {
  private asker: ((question: SecretQuestion) => void) | null = null;
  /** The question being asked, until it is answered or cancelled. */
  pending: SecretQuestion | null = null;

  /** The view that reads secrets; without one, ask() is refused. */
  setAsker(asker: (question: SecretQuestion) => void): void {
    this.asker = asker;
  }

  get available(): boolean {
    return this.asker !== null;
  }

  /** The secret typed, or null when the user cancelled (or no view can ask). */
  ask(prompt: string): Promise<string | null> {
    const asker = this.asker;
    if (!asker) return Promise.resolve(null);
    this.pending?.cancel();
    return new Promise((resolve) => {
      const done = (secret: string | null) => {
        if (this.pending !== question) return;
        this.pending = null;
        resolve(secret);
      };
      const question: SecretQuestion = { prompt, answer: (secret) => done(secret), cancel: () => done(null) };
      this.pending = question;
      asker(question);
    });
  }
}
