import { describe, expect, it } from "vitest";
import { Ring } from "./ring.js";

/** The slots the ring's array has now, read from its private field. */
const slots = (r: Ring<number>): number => (r as unknown as { _items: unknown[] })._items.length;

describe("Ring", () => {
  it("Ring keeps FIFO order across growth and wrap-around", () => {
    const r = new Ring<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < (round % 7) + 1; i++) r.push(next++);
      for (let i = 0; i < (round % 5) + 1 && r.length > 0; i++) out.push(r.shift());
    }
    while (r.length > 0) out.push(r.shift());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it("Ring drops an array grown past 1,024 slots once it drains, and keeps a smaller one", () => {
    const big = new Ring<number>();
    for (let i = 0; i < 5_000; i++) big.push(i);
    expect(slots(big)).toBe(8_192);
    let sum = 0;
    while (big.length > 1) sum += big.shift();
    // Not yet empty: the array stays, with the last value in it.
    expect(slots(big)).toBe(8_192);
    sum += big.shift();
    expect(sum).toBe((5_000 * 4_999) / 2);
    expect(slots(big)).toBe(4);
    big.push(7);
    expect(big.shift()).toBe(7);

    const small = new Ring<number>();
    for (let i = 0; i < 1_000; i++) small.push(i);
    while (small.length > 0) small.shift();
    expect(slots(small)).toBe(1_024);
  });
});
