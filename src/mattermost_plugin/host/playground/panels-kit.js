// The author panels' kit (panels.js): building elements, requests to the dev server, the
// event stream's subscribers, and what several panels share.

import { api } from "./core.js";

export const PLUGIN_ROOT = "/plugins/";
const REFRESH_MS = 250;

/** What the panels share: the plugin's id, known once /dev/status answered. */
export const session = { pluginId: "" };

/** The plugin's id, asking /dev/status the first time. */
export async function pluginId() {
  if (!session.pluginId) session.pluginId = (await request("GET", "/dev/status")).plugin_id;
  return session.pluginId;
}

/** An element: h("div", {class: "x", onclick: fn}, child, "text", ...). Text is never HTML. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Replace node's children (arrays are flattened; null, undefined and false skipped). */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

export function clock(seconds) {
  const date = new Date(seconds * 1000);
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export function formatBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

/** A JSON request to the dev server as its default admin (the page's own request helper);
 * AppErrors become the page's ApiError, with `status` and the answer's `body`. */
export function request(method, path, body) {
  return api(method, path, body, { asAdmin: true });
}

/** Calls fn at most once per `ms`, the last call winning (bursts of events → one read). */
export function throttled(fn, ms = REFRESH_MS) {
  let timer = null;
  let again = false;
  return () => {
    if (timer) {
      again = true;
      return;
    }
    timer = setTimeout(async () => {
      try {
        await fn();
      } finally {
        timer = null;
        if (again) {
          again = false;
          setTimeout(() => fn(), ms);
        }
      }
    }, ms);
  };
}

export function pager(state, reload) {
  const pages = Math.max(1, Math.ceil(state.matching / state.perPage));
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: state.page === 0, onclick: () => { state.page -= 1; reload(); } }, "‹ Newer"),
    h("span", { class: "page-of" }, `page ${state.page + 1} of ${pages}`),
    h("button", { type: "button", disabled: state.page + 1 >= pages, onclick: () => { state.page += 1; reload(); } }, "Older ›"),
  );
}

export function errorLine(error) {
  return h("p", { class: "panel-error", role: "alert" }, error instanceof Error ? error.message : String(error));
}

export function fieldsLine(fields) {
  const entries = Object.entries(fields || {});
  if (!entries.length) return null;
  return h(
    "span",
    { class: "fields" },
    entries.map(([key, value]) =>
      h("span", { class: "field" }, h("span", { class: "key" }, key, "="), typeof value === "string" ? value : JSON.stringify(value)),
    ),
  );
}

// --- the event stream ------------------------------------------------------------------

const subscribers = new Set();

export function onEvent(fn) {
  subscribers.add(fn);
}

export function dispatch(envelope) {
  for (const fn of subscribers) {
    try {
      fn(envelope);
    } catch (error) {
      console.error("panel event handler failed", error);
    }
  }
}

export function connectEvents() {
  if (window.playground?.onEvent) {
    window.playground.onEvent(dispatch);
    return;
  }
  const source = new EventSource("/dev/events");
  source.onmessage = (message) => dispatch(JSON.parse(message.data));
  for (const name of ["dev_hook", "dev_log", "dev_plugin", "plugin_statuses_changed"]) {
    source.addEventListener(name, (message) => dispatch(JSON.parse(message.data)));
  }
}
