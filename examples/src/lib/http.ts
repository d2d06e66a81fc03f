import type { Server as HttpServer, ServerResponse } from "node:http";
import type { Http2Server, ServerHttp2Stream } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { type Context, withCancelCause } from "@tether/core";

/** A server listening on 127.0.0.1 that knows which sockets it still has open. */
export interface LocalServer {
  /** The base address, e.g. `http://127.0.0.1:41234`, without a trailing slash. */
  readonly url: string;
  /** How many client sockets are open on the server right now. */
  openSockets(): number;
  /** The client sockets open right now. */
  readonly sockets: ReadonlySet<Socket>;
  /** Resolves once the server has seen every socket close, or at once if none is open. */
  socketsClosed(): Promise<void>;
  /** Stops listening, cuts every open socket and resolves once the server has closed. */
  close(): Promise<void>;
}

/**
 * listen starts `server` on 127.0.0.1 at a free port. It tracks sockets itself rather than asking
 * `getConnections`, so a test can wait for the exact moment the last one closes.
 */
export async function listen(server: HttpServer | Http2Server): Promise<LocalServer> {
  const sockets = new Set<Socket>();
  let waiters: Array<() => void> = [];
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      if (sockets.size === 0) {
        const ws = waiters;
        waiters = [];
        for (const w of ws) w();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    openSockets: () => sockets.size,
    sockets,
    socketsClosed: () => (sockets.size === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        // close() alone waits for keep-alive clients to hang up; a shutdown should not.
        for (const s of sockets) s.destroy();
      })),
  };
}

/** The cause a request context carries when the client went away before the response was sent. */
export class ClientGoneError extends Error {
  override readonly name = "ClientGoneError";
  constructor() {
    super("client closed the connection before the response was sent");
  }
}

/**
 * requestContext gives one HTTP exchange a context, like Go's `r.Context()`: it is cancelled when
 * the response is done, or earlier with a {@link ClientGoneError} cause when the client hangs up.
 * Everything the handler starts under it therefore stops with the exchange.
 */
export function requestContext(parent: Context, exchange: ServerResponse | ServerHttp2Stream): Context {
  const [ctx, cancel] = withCancelCause(parent);
  exchange.once("close", () => {
    // An HTTP/2 stream reset by the client ends its writable side too, so `aborted` is what tells.
    const finished = "aborted" in exchange ? !exchange.aborted : exchange.writableFinished;
    cancel(finished ? undefined : new ClientGoneError());
  });
  return ctx;
}
