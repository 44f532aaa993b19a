// The playground's shared parts: its state, the REST API as the acting user, DOM helpers.

export const $ = (selector) => document.querySelector(selector);
export const listeners = new Set();
export const state = {
  me: null,            // the acting user
  users: new Map(),    // id → user
  teams: [],
  team: null,
  channels: [],        // the acting user's channels in the team
  channel: null,
  posts: new Map(),    // id → post (the channel's, ephemeral ones, and local notes)
  order: [],           // ids of the channel's posts, oldest first
  modified: new Map(), // post id → the text sent, when the plugin changed it
  ephemeral: [],       // ephemeral posts for the acting user, kept in the page only
  commands: [],        // the plugin's slash commands of the team
  thread: null,        // the root post id of the open thread
  dialog: null,        // the open dialog's request
};

export function emit(envelope) {
  for (const fn of listeners) {
    try {
      fn(envelope);
    } catch (error) {
      console.error("playground.onEvent listener failed", error);
    }
  }
}

// --- the REST API ------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.id = body?.id || "";
    this.detailed = body?.detailed_error || "";
    this.body = body;
  }
}

export async function api(method, path, body, { asAdmin = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.me && !asAdmin) headers["Mattermost-User-Id"] = state.me.id;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);

// --- small DOM helpers -------------------------------------------------------------------

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    // CSSOM, not a style attribute: the page's Content-Security-Policy allows no inline styles.
    else if (name === "style") for (const [property, v] of Object.entries(value)) node.style.setProperty(property, v);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function notice(text, level = "error") {
  const box = $("#notices") || document.body.appendChild(el("div", { id: "notices", "aria-live": "assertive" }));
  const item = el("div", { class: `notice ${level}`, role: level === "error" ? "alert" : "status" }, text);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function formatTime(ms) {
  const date = new Date(ms);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export async function userOf(id) {
  if (!id) return null;
  if (!state.users.has(id)) {
    try {
      state.users.set(id, await get(`/api/v4/users/${id}`));
    } catch {
      state.users.set(id, { id, username: id.slice(0, 8) });
    }
  }
  return state.users.get(id);
}

export const nameOf = (id) => state.users.get(id)?.username || (id ? id.slice(0, 8) : "system");

export function channelLabel(channel) {
  if (channel.type === "D" || channel.type === "G") {
    const others = channel.name.split("__").filter((id) => id !== state.me?.id);
    return others.map((id) => "@" + nameOf(id)).join(", ") || channel.display_name || channel.name;
  }
  return channel.display_name || channel.name;
}

export async function run(work) {
  try {
    await work();
  } catch (error) {
    notice(error.message);
  }
}
