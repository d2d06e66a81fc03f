import { describe, expect, it } from "vitest";
import { Ring } from "./ring.js";

/** The slots the ring's array has now, read from its private field. */
const slots = (r: Ring<number>): number => (r as unknown as { _items: unknown[] })._items.length;

/** Pushes `n` values and takes them all out again, checking their order; returns their sum. */
function round(r: Ring<number>, n: number): number {
  for (let i = 0; i < n; i++) r.push(i);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = r.shift();
    expect(v).toBe(i);
    sum += v;
  }
  return sum;
}

describe("Ring", () => {
  it("Ring keeps FIFO order across growth and wrap-around", () => {
    const r = new Ring<number>();
    const out: number[] = [];
    let next = 0;
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < (turn % 7) + 1; i++) r.push(next++);
      for (let i = 0; i < (turn % 5) + 1 && r.length > 0; i++) out.push(r.shift());
    }
    while (r.length > 0) out.push(r.shift());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it("Ring keeps a large array while each round fills it, and shrinks it after a round that used a quarter or less", () => {
    const r = new Ring<number>();
    expect(round(r, 5_000)).toBe((5_000 * 4_999) / 2);
    expect(slots(r)).toBe(8_192);
    // Bursts of the same size reuse the array the first one grew.
    round(r, 5_000);
    round(r, 3_000);
    expect(slots(r)).toBe(8_192);
    // A round of 100 uses far less than a quarter: the array shrinks to fit twice that.
    round(r, 100);
    expect(slots(r)).toBe(256);
    round(r, 5_000);
    expect(slots(r)).toBe(8_192);
  });

  it("Ring keeps an array of up to 1,024 slots however little a round uses", () => {
    const r = new Ring<number>();
    round(r, 1_000);
    round(r, 1);
    round(r, 1);
    expect(slots(r)).toBe(1_024);
  });

  it("Ring shrinks only when it empties, never while it holds values", () => {
    const r = new Ring<number>();
    for (let i = 0; i < 3_000; i++) r.push(i);
    for (let i = 0; i < 2_999; i++) r.shift();
    expect(slots(r)).toBe(4_096);
    r.shift();
    round(r, 10);
    expect(slots(r)).toBe(32);
    r.push(7);
    expect(r.shift()).toBe(7);
  });
});
