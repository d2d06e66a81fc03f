/** Where the demo writes: a stream, or anything that collects text in a test. */
export interface Output {
  write(text: string): unknown;
  /** True for a terminal: progress is one line redrawn in place. Otherwise plain lines. */
  readonly isTTY?: boolean;
}

export interface Counts {
  readonly total: number;
  readonly started: number;
  readonly fetched: number;
  readonly failed: number;
  readonly fatal: number;
  readonly timedOut: number;
  readonly cancelled: number;
  readonly inFlight: number;
  /** The most requests in flight at once so far: the limit, once the run has filled it. */
  readonly peak: number;
}

const BAR = 24;
/** Redraws closer together than this are skipped: a terminal cannot show them anyway. */
const REDRAW_MS = 50;

function finished(c: Counts): number {
  return c.fetched + c.failed + c.fatal + c.timedOut + c.cancelled;
}

function line(c: Counts, elapsedMs: number): string {
  const done = finished(c);
  const filled = c.total === 0 ? BAR : Math.round((done / c.total) * BAR);
  const bar = `${"#".repeat(filled)}${"-".repeat(BAR - filled)}`;
  return (
    `[${bar}] ${String(done).padStart(String(c.total).length)}/${c.total}` +
    `  fetched ${c.fetched}  failed ${c.failed}  timed out ${c.timedOut}  cancelled ${c.cancelled}` +
    `  in flight ${String(c.inFlight).padStart(2)} (peak ${c.peak})  ${(elapsedMs / 1000).toFixed(1)}s`
  );
}

/**
 * Progress shows how a run is going. On a terminal it redraws one line in place, at most every
 * 50 ms; elsewhere (a pipe, a CI log) it prints a plain line at every tenth of the way, so logs
 * stay readable and free of control characters.
 */
export class Progress {
  #lastDraw = -Infinity;
  #lastTenth = 0;
  /** For plain output: the counts last printed, so the final line does not repeat them. */
  #lastPrinted = "";

  constructor(
    private readonly _out: Output,
    private readonly _startedAt: number,
  ) {}

  update(c: Counts): void {
    const now = Date.now();
    if (this._out.isTTY === true) {
      if (now - this.#lastDraw < REDRAW_MS) return;
      this.#lastDraw = now;
      this._out.write(`\r\x1b[2K${line(c, now - this._startedAt)}`);
      return;
    }
    const tenth = c.total === 0 ? 10 : Math.floor((finished(c) / c.total) * 10);
    if (tenth > this.#lastTenth) {
      this.#lastTenth = tenth;
      this.#lastPrinted = JSON.stringify(c);
      this._out.write(`${line(c, now - this._startedAt)}\n`);
    }
  }

  /** Draws the final state and ends the line. */
  finish(c: Counts): void {
    const text = line(c, Date.now() - this._startedAt);
    if (this._out.isTTY === true) this._out.write(`\r\x1b[2K${text}\n`);
    else if (JSON.stringify(c) !== this.#lastPrinted) this._out.write(`${text}\n`);
  }
}
