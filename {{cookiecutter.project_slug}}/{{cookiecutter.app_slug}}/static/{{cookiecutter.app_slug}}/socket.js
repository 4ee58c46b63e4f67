// ReconnectingSocket: a WebSocket that comes back by itself. Plain JavaScript, no
// build step; load it with a <script> tag before the code that uses it.
//
//   const socket = new ReconnectingSocket("/ws/notifications/", {
//     json: true,                  // onMessage gets JSON.parse(frame); send() stringifies
//     protocols: async () => [],   // called before each (re)connect: fresh subprotocols
//     onMessage: (data, event) => {},
//     onState: (state, detail) => {},
//   });
//   socket.send(data);  // true if sent; false while not open (nothing is queued)
//   socket.close();     // stop for good: no reconnect
//   socket.socket       // the current WebSocket (its .protocol), or null
//
// path: "/ws/..." on this page's host, ws:// on http:// pages and wss:// on https://
// ones; or a full ws:// or wss:// URL (a separate API host); or a function that
// returns one, called before each (re)connect (to add ?since=<the last id seen>).
//
// States, in onState(state, detail):
//   "connecting"    before protocols() and the handshake
//   "open"          connected; once open for 5 s, the backoff starts again from
//                   the first delay (a server that accepts and drops at once
//                   still gets longer and longer waits)
//   "closed"        lost, reconnecting in detail.delay ms (detail.code: the close code,
//                   detail.attempt: how many tries failed in a row before this one)
//   "logged out"    closed with 4001, this session logged out: stopped
//   "access ended"  closed with 4003 (a new password, deactivation) and the one
//                   attempt after it did not open: stopped. A password changed in
//                   this browser keeps the session, so that attempt opens.
//   "refused"       closed with 4400: the server refused what was asked (a bad
//                   ?since=; its reason came as a frame before the close), which
//                   the same request again cannot change: stopped
//   "stopped"       the page called close()
// Any other close reconnects: 1001 and 1012 (a server going away or restarting),
// 1006 (no answer), other 4000-4999 codes. A protocols() that throws (no token:
// the server is down), as does a WebSocket constructor that throws, counts as a
// failed attempt.
//
// Delays have full jitter, Math.random() * min(30 s, 500 ms * 2 ** attempt), so
// the clients of a restarted server do not all come back in the same instant.
// With json, a frame that is not JSON reaches onMessage as undefined (event.data
// has the text).
"use strict";

class ReconnectingSocket {
  static BASE_DELAY = 500;
  static MAX_DELAY = 30000;
  static STEADY_AFTER = 5000; // open this long, the next failure waits little again
  static LOGGED_OUT = 4001; // the app's access.py
  static ACCESS_CHANGED = 4003;
  static REFUSED = 4400; // the app's consumers.py: a request no retry can mend

  // The wait before attempt number `attempt` (0 after the first failure).
  static delay(attempt) {
    const ceiling = ReconnectingSocket.BASE_DELAY * 2 ** attempt;
    return Math.random() * Math.min(ReconnectingSocket.MAX_DELAY, ceiling);
  }

  // A hard-coded ws:// breaks behind HTTPS: the page's scheme decides.
  static url(path) {
    if (/^wss?:\/\//.test(path)) return path;
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + path;
  }

  constructor(path, options = {}) {
    this.path = path;
    this.json = Boolean(options.json);
    this.protocols = options.protocols || (async () => []);
    this.onMessage = options.onMessage || (() => {});
    this.onState = options.onState || (() => {});
    this.socket = null;
    this.attempt = 0; // failures in a row
    this.stopped = false;
    this.recheck = false; // after a 4003: one attempt decides
    this.timer = null;
    this.steady = null;
    this.connect();
  }

  send(data) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(this.json ? JSON.stringify(data) : data);
    return true;
  }

  close() {
    if (this.stopped) return;
    this.stop("stopped");
    this.socket?.close(1000);
  }

  async connect() {
    this.timer = null;
    if (this.stopped) return;
    this.report("connecting");
    let socket;
    try {
      const protocols = await this.protocols();
      if (this.stopped) return; // close() while protocols() ran
      const path = typeof this.path === "function" ? this.path() : this.path;
      socket = new WebSocket(ReconnectingSocket.url(path), protocols);
    } catch {
      return this.failed(undefined);
    }
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      if (this.socket !== socket || this.stopped) return;
      opened = true;
      this.recheck = false;
      const steady = () => (this.attempt = 0);
      this.steady = setTimeout(steady, ReconnectingSocket.STEADY_AFTER);
      this.report("open");
    });
    socket.addEventListener("message", (event) => {
      if (this.socket !== socket || this.stopped) return;
      this.onMessage(this.json ? ReconnectingSocket.parse(event.data) : event.data, event);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      clearTimeout(this.steady);
      if (event.code === ReconnectingSocket.LOGGED_OUT) {
        return this.stop("logged out", event.code);
      }
      if (event.code === ReconnectingSocket.REFUSED) {
        return this.stop("refused", event.code);
      }
      if (event.code === ReconnectingSocket.ACCESS_CHANGED) {
        this.recheck = true; // access.py: the session may still hold
      } else if (!opened) {
        return this.failed(event.code);
      }
      this.retry(event.code);
    });
  }

  // An attempt that never opened: after a 4003 it means the access ended.
  failed(code) {
    if (this.stopped) return;
    if (this.recheck) return this.stop("access ended", code);
    this.retry(code);
  }

  retry(code) {
    const attempt = this.attempt;
    const delay = ReconnectingSocket.delay(attempt);
    this.attempt += 1;
    // Before onState, which may close() this socket and so cancel it.
    this.timer = setTimeout(() => this.connect(), delay);
    this.report("closed", { code, delay, attempt });
  }

  stop(state, code) {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.steady);
    this.timer = null;
    this.report(state, { code });
  }

  report(state, detail = {}) {
    this.state = state;
    this.onState(state, detail);
  }

  static parse(text) {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
}
