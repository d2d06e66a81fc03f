/** Arrays up to this many slots are kept however little of them a round uses. */
const SHRINK_ABOVE = 1024;

/**
 * Ring is a FIFO of values in a circular array: push and shift are O(1) amortised, where
 * `Array.prototype.shift` is O(n). The array starts small and doubles when full, so a channel made
 * with a large capacity pays only for what it actually buffers. An array grown past `SHRINK_ABOVE`
 * slots is replaced by a smaller one when the ring empties after a round (the values held between
 * two moments it was empty) that used a quarter of it or less: a burst's memory is given back once
 * use has fallen, while bursts of one size, each drained, reuse the array the first one grew. The
 * channel bounds its length.
 *
 * @internal
 */
export class Ring<T> {
  private _items: (T | undefined)[] = new Array<T | undefined>(4);
  /** Index of the oldest value. */
  private _start = 0;
  /** The number of values held. */
  length = 0;
  /** The most values held since the ring was last empty. */
  private _peak = 0;

  push(v: T): void {
    const items = this._items;
    if (this.length === items.length) this._grow();
    const a = this._items;
    a[(this._start + this.length) & (a.length - 1)] = v;
    if (++this.length > this._peak) this._peak = this.length;
  }

  /** Takes out the oldest value; the caller checks `length > 0` first. */
  shift(): T {
    const a = this._items;
    const v = a[this._start] as T;
    // Drop the reference: a drained buffer must not keep its values alive.
    a[this._start] = undefined;
    this._start = (this._start + 1) & (a.length - 1);
    if (--this.length === 0 && a.length > SHRINK_ABOVE) this._drained(a.length);
    return v;
  }

  /** The ring emptied and its array is large: shrink it if the round now ending used little of it. */
  private _drained(size: number): void {
    const peak = this._peak;
    this._peak = 0;
    if (peak * 4 > size) return;
    let next = 4;
    while (next < peak * 2) next *= 2;
    this._items = new Array<T | undefined>(next);
    this._start = 0;
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
