// The demo page's client: one WebSocket per panel, reconnecting after restarts.
"use strict";

// wss:// on an https:// page, ws:// otherwise: a hard-coded ws:// breaks behind HTTPS.
function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  return scheme + window.location.host + path;
}

// The close code of a socket whose session logged out: it stays closed.
const LOGGED_OUT = 4001;

class Panel {
  constructor(element) {
    this.element = element;
    this.path = element.dataset.path;
    this.state = element.querySelector(".state");
    this.log = element.querySelector(".log");
    this.message = element.querySelector("form.send [name=message]");
    this.retryDelay = 500;
    const form = element.querySelector("form.send");
    form?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.connect();
  }

  connect() {
    this.setState("connecting");
    // No token (the server is down, or restarting): try again, as on a close.
    this.protocols().then(
      (protocols) => this.open(protocols),
      () => this.retry(),
    );
  }

  // Subprotocols to offer; the notifications panel offers a token.
  async protocols() {
    return [];
  }

  open(protocols) {
    const socket = new WebSocket(socketUrl(this.path), protocols);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.retryDelay = 500;
      this.setState("open");
    });
    socket.addEventListener("message", (event) => {
      const text = this.decode(event.data);
      if (text !== null) this.write("received", text);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return; // replaced on purpose (a new room)
      // 4001: this session logged out (access.py); anything else: try again.
      if (event.code === LOGGED_OUT) return this.setState("logged out");
      this.retry();
    });
  }

  // Try again, more slowly each time, until the server is back.
  retry() {
    this.setState("closed");
    setTimeout(() => this.connect(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 5000);
  }

  send() {
    const text = this.message.value;
    if (text === "" || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(this.encode(text));
    this.write("sent", text);
    this.message.value = "";
  }

  // Echo consumers take and give plain text; the chat panel overrides these.
  encode(text) {
    return text;
  }

  decode(data) {
    return data;
  }

  setState(state) {
    this.state.dataset.state = state;
    this.state.textContent = state;
  }

  write(direction, text) {
    const entry = document.createElement("li");
    entry.className = direction;
    entry.textContent = text;
    this.log.append(entry);
    this.log.scrollTop = this.log.scrollHeight;
  }
}

class ChatPanel extends Panel {
  constructor(element) {
    super(element);
    const room = element.querySelector("form.room");
    room.addEventListener("submit", (event) => {
      event.preventDefault();
      this.join(room.elements.room.value.trim());
    });
  }

  join(room) {
    const old = this.socket;
    this.path = "/ws/chat/" + encodeURIComponent(room) + "/";
    this.connect();
    old.close();
  }

  encode(text) {
    return JSON.stringify({ message: text });
  }

  // null: nothing to log (the room's presence news updates its own line).
  decode(data) {
    const content = JSON.parse(data);
    if ("presence" in content) return this.showPresence(content.presence);
    return "error" in content ? "error: " + content.error : content.message;
  }

  showPresence({ count, users }) {
    const names = users.length ? ": " + users.join(", ") : "";
    this.element.querySelector(".presence").textContent = count + " here" + names;
    return null;
  }
}

// Receives pushes for the logged-in user; its button asks a view to push one.
class NotificationsPanel extends Panel {
  constructor(element) {
    super(element);
    const push = element.querySelector("form.push");
    push.addEventListener("submit", (event) => {
      event.preventDefault();
      // The form carries Django's CSRF token (csrfmiddlewaretoken), as a POST must.
      fetch(push.action, { method: "POST", body: new FormData(push) }).then(
        (response) => {
          if (response.status !== 204) {
            this.write("error", "push failed: HTTP " + response.status);
          }
        },
        () => this.write("error", "push failed: no answer from the server"),
      );
    });
  }

  // Signs in with a token, as a page on a separate frontend must (README.md, Who
  // is connected): a fresh one per connection, from the session. Such a page
  // adds credentials: "include" to call this server from its own origin.
  async protocols() {
    const response = await fetch(this.element.dataset.tokenUrl, { method: "POST" });
    if (!response.ok) throw new Error("no token: HTTP " + response.status);
    const { token } = await response.json();
    return ["bearer", "bearer." + token];
  }

  decode(data) {
    const content = JSON.parse(data);
    return "message" in content ? content.message : data;
  }
}

const PANELS = { chat: ChatPanel, notifications: NotificationsPanel };

// Panels with a socket (data-path); the logged-out Notifications panel has none.
document.querySelectorAll(".panel[data-path]").forEach((element) => {
  const kind = Object.keys(PANELS).find((k) => element.classList.contains(k));
  element.panel = new (PANELS[kind] || Panel)(element);
});
