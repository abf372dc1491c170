/**
 * Bounds the bytes held in memory by uploads in flight, across files and parts: an upload waits
 * until its bytes fit. One request larger than the whole budget still runs, alone.
 */
export class ByteBudget {
  readonly #capacity: number;
  #used = 0;
  readonly #waiting: Array<{ bytes: number; wake: () => void }> = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  async use<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    await this.acquire(bytes);
    try {
      return await work();
    } finally {
      this.release(bytes);
    }
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.#capacity;
  }

  acquire(bytes: number): Promise<void> {
    if (this.#waiting.length === 0 && this.#fits(bytes)) {
      this.#used += bytes;
      return Promise.resolve();
    }
    return new Promise((wake) => this.#waiting.push({ bytes, wake }));
  }

  release(bytes: number): void {
    this.#used -= bytes;
    // First come, first served, so a large upload is not starved by small ones.
    while (this.#waiting.length > 0 && this.#fits((this.#waiting[0] as { bytes: number }).bytes)) {
      const next = this.#waiting.shift() as { bytes: number; wake: () => void };
      this.#used += next.bytes;
      next.wake();
    }
  }
}
