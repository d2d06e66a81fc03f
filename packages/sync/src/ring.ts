/**
 * Ring is a FIFO of values in a circular array: push and shift are O(1) amortised, where
 * `Array.prototype.shift` is O(n). The array starts small and doubles when full, so a channel made
 * with a large capacity pays only for what it actually buffers; an array grown past
 * `SHRINK_ABOVE` slots is dropped when the ring empties. The channel bounds its length.
 *
 * @internal
 */
/** Arrays up to this many slots are kept when the ring empties: small buffers fill again at no cost. */
const SHRINK_ABOVE = 1024;

export class Ring<T> {
  private _items: (T | undefined)[] = new Array<T | undefined>(4);
  /** Index of the oldest value. */
  private _start = 0;
  /** The number of values held. */
  length = 0;

  push(v: T): void {
    const items = this._items;
    if (this.length === items.length) this._grow();
    const a = this._items;
    a[(this._start + this.length) & (a.length - 1)] = v;
    this.length++;
  }

  /** Takes out the oldest value; the caller checks `length > 0` first. */
  shift(): T {
    const a = this._items;
    const v = a[this._start] as T;
    // Drop the reference: a drained buffer must not keep its values alive.
    a[this._start] = undefined;
    this._start = (this._start + 1) & (a.length - 1);
    // A burst grew the array; once drained, let it go rather than hold its peak for the channel's life.
    if (--this.length === 0 && a.length > SHRINK_ABOVE) {
      this._items = new Array<T | undefined>(4);
      this._start = 0;
    }
    return v;
  }

  /** Doubles the array, unrolling the values to the front. Lengths stay powers of two for `&`. */
  private _grow(): void {
    const old = this._items;
    const a = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.length; i++) a[i] = old[(this._start + i) & (old.length - 1)];
    this._items = a;
    this._start = 0;
  }
}
