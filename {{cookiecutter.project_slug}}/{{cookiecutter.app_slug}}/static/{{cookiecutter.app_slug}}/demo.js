// The demo page's client: one WebSocket per panel, each a ReconnectingSocket
// (socket.js, loaded before this file), which comes back after restarts.
"use strict";

class Panel {
  constructor(element) {
    this.element = element;
    this.path = element.dataset.path;
    this.state = element.querySelector(".state");
    this.log = element.querySelector(".log");
    this.message = element.querySelector("form.send [name=message]");
    const form = element.querySelector("form.send");
    form?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.connect();
  }

  // A new connection to this.path, in place of the current one (a new room).
  connect() {
    this.connection?.close();
    this.connection = new ReconnectingSocket(() => this.url(), {
      protocols: () => this.protocols(),
      onMessage: (data) => {
        const text = this.decode(data);
        if (text !== null) this.write("received", text);
      },
      // "stopped" is a connection this panel replaced: the new one reports.
      onState: (state) => state !== "stopped" && this.setState(state),
    });
  }

  // Where each (re)connect goes; the chat panel adds the last id it saw.
  url() {
    return this.path;
  }

  get socket() {
    return this.connection.socket;
  }

  // Subprotocols to offer; the notifications panel offers a token.
  async protocols() {
    return [];
  }

  send() {
    const text = this.message.value;
    if (text === "" || !this.connection.send(this.encode(text))) return;
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
    this.path = "/ws/chat/" + encodeURIComponent(room) + "/";
    this.lastId = undefined; // a new room: its latest messages, not what came after
    this.connect();
  }

  // Back after a drop (a restart, a network change) with the last id it saw, the
  // server sends what this page missed, once, and then live messages.
  url() {
    return this.lastId === undefined ? this.path : this.path + "?since=" + this.lastId;
  }

  encode(text) {
    return JSON.stringify({ message: text });
  }

  // null: nothing to log (the room's presence news updates its own line).
  decode(data) {
    const content = JSON.parse(data);
    if ("presence" in content) return this.showPresence(content.presence);
    // The greatest: two servers' messages can arrive out of id order.
    if ("id" in content) this.lastId = Math.max(this.lastId ?? 0, content.id);
    return "error" in content ? "error: " + content.error : content.message;
  }

  // Who is there is known only while connected.
  setState(state) {
    super.setState(state);
    if (state !== "open") this.element.querySelector(".presence").textContent = "";
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
