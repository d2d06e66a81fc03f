/**
 * The minimal promise channel people write by hand: a buffer and two FIFOs of parked senders and
 * receivers, no cancellation, no close, no select. Unbuffered (capacity 0) it is a rendezvous: a
 * send resolves only once a receiver has the value. Tether's Channel is held to within 1.5× of it.
 */
export class MiniChannel<T> {
  private readonly buffer: T[] = [];
  private readonly receivers: Array<(value: T) => void> = [];
  private readonly senders: Array<{ value: T; resolve: () => void }> = [];

  constructor(private readonly capacity = 0) {}

  send(value: T): Promise<void> {
    const receiver = this.receivers.shift();
    if (receiver !== undefined) {
      receiver(value);
      return Promise.resolve();
    }
    if (this.buffer.length < this.capacity) {
      this.buffer.push(value);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.senders.push({ value, resolve }));
  }

  recv(): Promise<T> {
    if (this.buffer.length > 0) {
      const value = this.buffer.shift() as T;
      // A slot opened: the longest-waiting sender moves its value into the buffer.
      const sender = this.senders.shift();
      if (sender !== undefined) {
        this.buffer.push(sender.value);
        sender.resolve();
      }
      return Promise.resolve(value);
    }
    const sender = this.senders.shift();
    if (sender !== undefined) {
      sender.resolve();
      return Promise.resolve(sender.value);
    }
    return new Promise<T>((resolve) => this.receivers.push(resolve));
  }
}
