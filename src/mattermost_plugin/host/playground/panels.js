// The plugin author's panels beside the playground's chat: hooks, logs, status, KV,
// settings and the plugin's HTTP. Plain DOM, no build step, no third-party code.
//
// Each panel reads the dev server: its /dev/ routes where the server has no REST route
// (GET /dev/hooks, /dev/logs, /dev/kv, /dev/status) and the server's REST API where it has
// one (the manifest's settings_schema from GET /api/v4/plugins, the settings from
// GET /api/v4/config, saving with PUT /api/v4/config/patch). They stay live through the
// page's event stream (window.playground.onEvent; a stream of their own without it): an
// event that changes what a panel shows makes it read again, at most a few times a second.
// Requests carry no user header, so they act as the dev server's default admin; the HTTP
// panel can send its request as the page's acting user instead.

const PLUGIN_ROOT = "/plugins/";
const FAKE_SETTING = "********************************";
const REFRESH_MS = 250;
const HTTP_TIMEOUT_MS = 30_000;

// --- small helpers ---------------------------------------------------------------------

/** An element: h("div", {class: "x", onclick: fn}, child, "text", ...). Text is never HTML. */
function h(tag, attrs = {}, ...children) {
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
function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function clock(seconds) {
  const date = new Date(seconds * 1000);
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function formatBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

class RequestError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** A JSON request to the dev server as its default admin; AppErrors become RequestError. */
async function request(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) throw new RequestError(response.status, data);
  return data;
}

/** Calls fn at most once per `ms`, the last call winning (bursts of events → one read). */
function throttled(fn, ms = REFRESH_MS) {
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

function pager(state, reload) {
  const pages = Math.max(1, Math.ceil(state.matching / state.perPage));
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: state.page === 0, onclick: () => { state.page -= 1; reload(); } }, "‹ Newer"),
    h("span", { class: "page-of" }, `page ${state.page + 1} of ${pages}`),
    h("button", { type: "button", disabled: state.page + 1 >= pages, onclick: () => { state.page += 1; reload(); } }, "Older ›"),
  );
}

function errorLine(error) {
  return h("p", { class: "panel-error", role: "alert" }, error instanceof Error ? error.message : String(error));
}

function fieldsLine(fields) {
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

function onEvent(fn) {
  subscribers.add(fn);
}

function dispatch(envelope) {
  for (const fn of subscribers) {
    try {
      fn(envelope);
    } catch (error) {
      console.error("panel event handler failed", error);
    }
  }
}

function connectEvents() {
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

// --- the panels ------------------------------------------------------------------------

const panels = [];
let pluginId = "";

function panel(id, title, render) {
  const body = h("div", { class: "panel-body" });
  const section = h("section", {
    id: `panel-${id}`,
    class: "panel",
    role: "tabpanel",
    "aria-labelledby": `tab-${id}`,
    hidden: true,
  }, body);
  const tab = h("button", {
    id: `tab-${id}`,
    type: "button",
    role: "tab",
    "aria-controls": `panel-${id}`,
    "aria-selected": "false",
    tabindex: "-1",
  }, title);
  const entry = { id, title, tab, section, body, shown: false, refresh: null };
  entry.refresh = render(entry);
  tab.addEventListener("click", () => show(entry));
  panels.push(entry);
  return entry;
}

function show(entry) {
  for (const other of panels) {
    const selected = other === entry;
    other.shown = selected;
    other.section.hidden = !selected;
    other.tab.setAttribute("aria-selected", String(selected));
    other.tab.tabIndex = selected ? 0 : -1;
  }
  try {
    localStorage.setItem("playground.panel", entry.id);
  } catch {
    /* private mode */
  }
  entry.refresh?.();
}

// Hooks: GET /dev/hooks, live on dev_hook.
function hooksPanel(entry) {
  const state = { hook: "", failed: false, page: 0, perPage: 25, matching: 0, open: new Set() };
  const hookSelect = h("select", { "aria-label": "Filter by hook", onchange: () => { state.hook = hookSelect.value; state.page = 0; load(); } },
    h("option", { value: "" }, "every hook"));
  const failedBox = h("input", { type: "checkbox", onchange: () => { state.failed = failedBox.checked; state.page = 0; load(); } });
  const list = h("ol", { class: "rows hook-calls", "aria-label": "Hook calls" });
  const footer = h("div", { class: "panel-footer" });
  entry.body.append(
    h("div", { class: "toolbar" }, hookSelect, h("label", {}, failedBox, " failures only")),
    list,
    footer,
  );

  function row(call) {
    const open = state.open.has(call.id);
    const details = open
      ? h("div", { class: "row-details" },
          h("div", {}, h("span", { class: "key" }, "arguments "), h("code", { class: "wrap" }, call.args || "(none)")),
          h("div", {}, h("span", { class: "key" }, "node "), call.node, h("span", { class: "key" }, "  at "), clock(call.time)),
          call.error ? h("div", { class: "call-error" }, call.error) : null,
          call.origin ? h("div", { class: "origin" }, call.origin) : null,
          call.traceback ? h("pre", { class: "traceback" }, call.traceback) : null)
      : null;
    return h("li", {
      class: `row level-${call.level}${call.failed ? " failed" : ""}`,
      dataset: { hook: call.hook, id: String(call.id) },
    },
      h("button", {
        type: "button",
        class: "row-head",
        "aria-expanded": String(open),
        onclick: () => { open ? state.open.delete(call.id) : state.open.add(call.id); load(); },
      },
        h("time", {}, clock(call.time)),
        h("span", { class: "hook-name" }, call.hook),
        h("span", { class: "outcome", title: call.outcome }, call.failed && !call.outcome.startsWith("failed") ? `handler failed · ${call.outcome}` : call.outcome),
        h("span", { class: "duration" }, call.duration),
        h("span", { class: "node", title: "the node that served it" }, `node ${call.node}`)),
      h("code", { class: "args" }, call.args),
      details);
  }

  async function load() {
    const query = new URLSearchParams({ page: state.page, per_page: state.perPage });
    if (state.hook) query.set("hook", state.hook);
    if (state.failed) query.set("failed", "true");
    try {
      const data = await request("GET", `/dev/hooks?${query}`);
      state.matching = data.matching;
      const names = [...new Set([...data.hooks, state.hook].filter(Boolean))].sort();
      const current = [...hookSelect.options].slice(1).map((o) => o.value);
      if (names.join() !== current.join()) {
        fill(hookSelect, h("option", { value: "" }, "every hook"), names.map((name) => h("option", { value: name }, name)));
        hookSelect.value = state.hook;
      }
      fill(list, ...(data.calls.length ? data.calls.map(row) : [h("li", { class: "empty" }, "No hook calls yet: post a message, run a command, open the plugin's HTTP.")]));
      fill(footer, pager(state, load), h("span", { class: "muted" }, `${data.kept} kept of ${data.total}`));
      entry.section.dataset.loaded = "true";
    } catch (error) {
      fill(list, errorLine(error));
    }
  }

  const later = throttled(() => entry.shown && state.page === 0 && load());
  onEvent((envelope) => envelope.event === "dev_hook" && later());
  return load;
}

// Logs: GET /dev/logs, live on dev_log.
function logsPanel(entry) {
  const state = { level: "debug", text: "", page: 0, perPage: 50, matching: 0 };
  const levelSelect = h("select", { "aria-label": "Lowest level", onchange: () => { state.level = levelSelect.value; state.page = 0; load(); } },
    ["debug", "info", "warn", "error"].map((level) => h("option", { value: level }, `${level} and above`)));
  const search = h("input", { type: "search", placeholder: "filter text", "aria-label": "Filter the log by text" });
  const typed = throttled(() => { state.text = search.value; state.page = 0; return load(); }, 200);
  search.addEventListener("input", typed);
  const list = h("ol", { class: "rows log-lines", "aria-label": "Log lines" });
  const footer = h("div", { class: "panel-footer" });
  entry.body.append(h("div", { class: "toolbar" }, levelSelect, search), list, footer);

  function row(line) {
    return h("li", { class: `row level-${line.level}`, dataset: { level: line.level } },
      h("div", { class: "row-line" },
        h("time", {}, clock(line.time)),
        h("span", { class: `level level-${line.level}` }, line.level),
        h("span", { class: "message" }, line.message),
        line.source === "stderr" ? null : h("span", { class: "muted", title: "logged through the Plugin API" }, "api")),
      fieldsLine(line.fields),
      line.traceback
        ? h("details", { class: "traceback-box" }, h("summary", {}, line.origin || "traceback"), h("pre", { class: "traceback" }, line.traceback))
        : null);
  }

  async function load() {
    const query = new URLSearchParams({ page: state.page, per_page: state.perPage, level: state.level });
    if (state.text) query.set("q", state.text);
    try {
      const data = await request("GET", `/dev/logs?${query}`);
      state.matching = data.matching;
      fill(list, ...(data.lines.length ? data.lines.map(row) : [h("li", { class: "empty" }, "No log lines here.")]));
      fill(footer, pager(state, load), h("span", { class: "muted" }, `${data.kept} kept of ${data.total}`));
      entry.section.dataset.loaded = "true";
    } catch (error) {
      fill(list, errorLine(error));
    }
  }

  const later = throttled(() => entry.shown && state.page === 0 && load());
  onEvent((envelope) => envelope.event === "dev_log" && later());
  return load;
}

// Status: GET /dev/status, live on the plugin's starts, stops and failures.
const STATE_NAMES = { running: "running", starting: "starting", restarting: "restarting", disabled: "disabled", stopped: "stopped" };

function statusPanel(entry) {
  const view = h("div", { class: "status-view" });
  entry.body.append(view);

  async function toggle(enabled) {
    try {
      await request("POST", `/api/v4/plugins/${encodeURIComponent(pluginId)}/${enabled ? "disable" : "enable"}`);
    } catch (error) {
      view.prepend(errorLine(error));
    }
    await load();
  }

  async function load() {
    try {
      const status = await request("GET", "/dev/status");
      pluginId = status.plugin_id;
      const item = (label, value) => [h("dt", {}, label), h("dd", { dataset: { field: label } }, value ?? "—")];
      fill(view,
        h("p", { class: "status-line" },
          h("span", { class: `state state-${status.state}`, "data-state": status.state }, STATE_NAMES[status.state] || status.state),
          " ", h("strong", {}, status.plugin_id),
          h("button", { type: "button", class: "small", onclick: () => toggle(status.enabled) }, status.enabled ? "Disable" : "Enable")),
        h("dl", { class: "status-list" },
          item("PID", status.pid),
          item("restarts", status.restarts),
          item("reloads", status.reloads),
          item("enabled", status.enabled ? "yes" : "no"),
          item("hooks", (status.hooks || []).filter((name) => name !== "Implemented").join(", ")),
          item("folder", status.plugin_dir)),
        status.last_error
          ? h("div", { class: "last-error", role: "alert" },
              h("h3", {}, "Last error"),
              h("pre", { class: "error-text" }, status.last_error),
              status.last_traceback ? h("pre", { class: "traceback" }, status.last_traceback) : null)
          : h("p", { class: "muted" }, "No start failures."),
      );
      entry.section.dataset.loaded = "true";
    } catch (error) {
      fill(view, errorLine(error));
    }
  }

  const later = throttled(() => entry.shown && load());
  onEvent((envelope) => ["dev_plugin", "plugin_statuses_changed"].includes(envelope.event) && later());
  return load;
}

// KV: GET /dev/kv, GET and DELETE /dev/kv/{key}.
function kvPanel(entry) {
  const state = { prefix: "", page: 0, perPage: 20, matching: 0, key: null };
  const prefixInput = h("input", { type: "search", placeholder: "key prefix", "aria-label": "Key prefix" });
  prefixInput.addEventListener("input", throttled(() => { state.prefix = prefixInput.value; state.page = 0; return load(); }, 200));
  const collections = h("div", { class: "chips", role: "group", "aria-label": "Collections" });
  const list = h("ol", { class: "rows kv-keys", "aria-label": "Keys" });
  const footer = h("div", { class: "panel-footer" });
  const value = h("div", { class: "kv-value", "aria-live": "polite" });
  entry.body.append(
    h("div", { class: "toolbar" }, prefixInput, h("button", { type: "button", onclick: () => load() }, "Refresh")),
    collections, list, footer, value,
  );

  function choosePrefix(prefix) {
    prefixInput.value = prefix;
    state.prefix = prefix;
    state.page = 0;
    load();
  }

  async function open(key) {
    state.key = key;
    try {
      const shown = await request("GET", `/dev/kv/${encodeURIComponent(key)}`);
      let content;
      if (shown.format === "json") content = h("pre", { class: "json" }, JSON.stringify(shown.json, null, 2));
      else if (shown.format === "text") content = h("pre", { class: "text" }, shown.text);
      else if (shown.format === "base64") content = h("pre", { class: "binary" }, `binary, base64:\n${shown.base64}`);
      else content = h("p", { class: "muted" }, "Too long to show.");
      const remove = h("button", { type: "button", class: "danger small" }, "Delete");
      remove.addEventListener("click", async () => {
        if (remove.dataset.confirm !== "true") {
          remove.dataset.confirm = "true";
          remove.textContent = "Delete for good?";
          return;
        }
        try {
          await request("DELETE", `/dev/kv/${encodeURIComponent(key)}`);
          state.key = null;
          fill(value, h("p", { class: "notice" }, `Deleted ${key}.`));
          await load();
        } catch (error) {
          value.append(errorLine(error));
        }
      });
      fill(value,
        h("header", { class: "kv-value-head" },
          h("code", { class: "kv-key" }, key),
          h("span", { class: "muted" }, `${shown.format} · ${formatBytes(shown.size)}${shown.expire_at ? ` · expires ${new Date(shown.expire_at).toLocaleString()}` : ""}`),
          remove),
        shown.redacted ? h("p", { class: "muted" }, "Secrets are hidden as [REDACTED].") : null,
        shown.truncated ? h("p", { class: "muted" }, "Only the start is shown.") : null,
        content,
      );
    } catch (error) {
      fill(value, errorLine(error));
    }
  }

  async function load() {
    const query = new URLSearchParams({ page: state.page, per_page: state.perPage, prefix: state.prefix });
    try {
      const data = await request("GET", `/dev/kv?${query}`);
      state.matching = data.matching;
      fill(collections,
        h("button", { type: "button", class: "chip", "aria-pressed": String(state.prefix === ""), onclick: () => choosePrefix("") }, `all (${data.total})`),
        data.collections.filter((c) => c.name).map((c) =>
          h("button", { type: "button", class: "chip", "aria-pressed": String(state.prefix === `${c.name}:`), onclick: () => choosePrefix(`${c.name}:`) }, `${c.name} (${c.keys})`)),
      );
      fill(list, ...(data.keys.length
        ? data.keys.map((item) => h("li", { class: "row", dataset: { key: item.key } },
            h("button", { type: "button", class: "row-head", "aria-current": state.key === item.key ? "true" : null, onclick: () => { open(item.key); load(); } },
              h("code", { class: "kv-key" }, item.key),
              h("span", { class: "muted" }, formatBytes(item.size)),
              h("span", { class: "preview" }, item.preview))))
        : [h("li", { class: "empty" }, state.prefix ? "No keys with this prefix." : "The plugin has stored nothing yet.")]));
      fill(footer, pager(state, load), h("span", { class: "muted" }, `${data.matching} key${data.matching === 1 ? "" : "s"}`));
      entry.section.dataset.loaded = "true";
    } catch (error) {
      fill(list, errorLine(error));
    }
  }

  const later = throttled(() => entry.shown && load(), 500);
  onEvent((envelope) => envelope.event === "dev_hook" && later());
  return load;
}

// Settings: the manifest's settings_schema as the System Console shows it.
function settingsPanel(entry) {
  const form = h("form", { class: "settings-form", novalidate: true, "aria-label": "Plugin settings" });
  const result = h("div", { class: "settings-result", "aria-live": "polite" });
  entry.body.append(form, result);
  let schema = null;
  let problems = {};

  function settingsOf(schemaValue) {
    const groups = [{ title: "", settings: schemaValue?.settings || [] }];
    for (const section of schemaValue?.sections || []) {
      groups.push({ title: section.title || section.key, subtitle: section.subtitle, settings: section.settings || [] });
    }
    return groups;
  }

  function input(setting, value) {
    const name = setting.key;
    const id = `setting-${name}`;
    const shown = value === undefined || value === null ? setting.default : value;
    switch (setting.type) {
      case "bool":
      case "radio": {
        const options = setting.type === "bool"
          ? [{ value: "true", display_name: "true" }, { value: "false", display_name: "false" }]
          : setting.options || [];
        return h("div", { class: "radios", role: "radiogroup", "aria-labelledby": `${id}-label` },
          options.map((option) => h("label", {},
            h("input", { type: "radio", name, value: String(option.value), checked: String(shown) === String(option.value) }),
            " ", option.display_name || option.value)));
      }
      case "number":
        return h("input", { id, name, type: "number", step: "1", value: shown ?? "", placeholder: setting.placeholder });
      case "longtext":
        return h("textarea", { id, name, rows: 3, placeholder: setting.placeholder }, shown ?? "");
      case "dropdown":
        return h("select", { id, name },
          (setting.options || []).map((option) => h("option", { value: option.value, selected: String(shown) === String(option.value) }, option.display_name || option.value)));
      case "generated": {
        const field = h("input", { id, name, type: "text", value: shown ?? "", readOnly: true });
        const regenerate = () => {
          const bytes = crypto.getRandomValues(new Uint8Array(24));
          field.value = btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "").slice(0, 32);
        };
        return h("span", { class: "generated" }, field, h("button", { type: "button", class: "small", onclick: regenerate }, "Regenerate"));
      }
      case "custom":
        return h("textarea", { id, name, rows: 3, dataset: { kind: "json" }, "aria-describedby": `${id}-help` },
          shown === undefined ? "" : JSON.stringify(shown));
      default:
        return h("input", {
          id,
          name,
          type: setting.secret ? "password" : "text",
          value: shown ?? "",
          placeholder: setting.placeholder,
          autocomplete: setting.secret ? "new-password" : "off",
        });
    }
  }

  function render(values) {
    const groups = settingsOf(schema);
    const rows = [];
    if (schema?.header) rows.push(h("p", { class: "settings-header" }, schema.header));
    for (const group of groups) {
      if (group.title) rows.push(h("h3", { class: "settings-section" }, group.title));
      if (group.subtitle) rows.push(h("p", { class: "muted" }, group.subtitle));
      for (const setting of group.settings) {
        const key = setting.key;
        const value = Object.entries(values).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
        const problem = Object.entries(problems).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
        rows.push(h("div", { class: `setting${problem ? " invalid" : ""}`, dataset: { key, type: setting.type } },
          h("label", { id: `setting-${key}-label`, for: `setting-${key}`, class: "setting-label" }, setting.display_name || key),
          h("div", { class: "setting-input" },
            input(setting, value),
            problem ? h("p", { class: "setting-problem", role: "alert" }, problem === "[REDACTED]" ? "not valid" : problem) : null,
            setting.help_text ? h("p", { id: `setting-${key}-help`, class: "help" }, setting.help_text) : null,
            setting.secret ? h("p", { class: "help" }, "Secret: shown masked, never logged.") : null,
            setting.type === "custom" ? h("p", { class: "help" }, "Custom: the plugin's webapp renders it; edit it as JSON here.") : null)));
      }
    }
    if (schema?.footer) rows.push(h("p", { class: "settings-footer muted" }, schema.footer));
    if (!groups.some((group) => group.settings.length)) rows.push(h("p", { class: "muted" }, "The plugin has no settings_schema."));
    else rows.push(h("div", { class: "form-actions" }, h("button", { type: "submit", class: "primary" }, "Save")));
    fill(form, ...rows);
  }

  function collect() {
    const values = {};
    for (const group of settingsOf(schema)) {
      for (const setting of group.settings) {
        const key = setting.key;
        if (setting.type === "bool" || setting.type === "radio") {
          const checked = form.querySelector(`input[name="${CSS.escape(key)}"]:checked`);
          if (checked) values[key] = setting.type === "bool" ? checked.value === "true" : checked.value;
          continue;
        }
        const field = form.elements.namedItem(key);
        if (!field) continue;
        const raw = field.value;
        if (setting.type === "number") {
          values[key] = raw.trim() === "" ? raw : (Number.isFinite(Number(raw)) && Number.isInteger(Number(raw)) ? Number(raw) : raw);
        } else if (setting.type === "custom") {
          try {
            values[key] = raw.trim() ? JSON.parse(raw) : null;
          } catch {
            values[key] = raw;
          }
        } else {
          values[key] = raw; // a secret left as ******** keeps its value on the server
        }
      }
    }
    return values;
  }

  async function values() {
    const config = await request("GET", "/api/v4/config");
    const plugins = config?.PluginSettings?.Plugins || {};
    return Object.entries(plugins).find(([id]) => id.toLowerCase() === pluginId.toLowerCase())?.[1] || {};
  }

  async function load() {
    try {
      if (!pluginId) pluginId = (await request("GET", "/dev/status")).plugin_id;
      const plugins = await request("GET", "/api/v4/plugins");
      const manifest = [...plugins.active, ...plugins.inactive].find((m) => m.id === pluginId);
      schema = manifest?.settings_schema || null;
      render(await values());
      entry.section.dataset.loaded = "true";
    } catch (error) {
      fill(form, errorLine(error));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problems = {};
    fill(result, h("p", { class: "muted" }, "Saving…"));
    const patch = { PluginSettings: { Plugins: { [pluginId]: collect() } } };
    try {
      const saved = await request("PUT", "/api/v4/config/patch", patch);
      const mine = Object.entries(saved?.PluginSettings?.Plugins || {}).find(([id]) => id.toLowerCase() === pluginId.toLowerCase())?.[1] || {};
      render(mine);
      if (!Object.keys(problems).length) {
        fill(result, h("p", { class: "notice ok", role: "status" }, "Saved: ConfigurationWillBeSaved allowed it, OnConfigurationChange ran."));
      }
    } catch (error) {
      fill(result, h("div", { class: "panel-error", role: "alert" },
        h("strong", {}, "Not saved: "), error.message,
        error.body?.detailed_error ? h("div", { class: "muted" }, error.body.detailed_error) : null));
    }
  });

  // The SDK logs settings that do not validate with their field paths and reasons.
  onEvent((envelope) => {
    if (envelope.event !== "dev_log") return;
    const found = envelope.data?.fields?.problems;
    if (!found || typeof found !== "object") return;
    problems = found;
    const listed = Object.entries(found).map(([field, reason]) => `${field}: ${reason === "[REDACTED]" ? "not valid" : reason}`);
    fill(result, h("div", { class: "panel-error invalid-settings", role: "alert" },
      h("strong", {}, "The plugin found these settings invalid"), " (it keeps its last good settings):",
      h("ul", {}, listed.map((line) => h("li", {}, line)))));
    if (schema) values().then(render).catch(() => {});
  });

  return () => { if (!form.contains(document.activeElement)) load(); };
}

// HTTP: try the plugin's routes.
function httpPanel(entry) {
  const method = h("select", { "aria-label": "Method" }, ["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => h("option", {}, m)));
  const prefix = h("span", { class: "path-prefix" }, "/plugins/…");
  const path = h("input", { type: "text", value: "/", list: "http-paths", "aria-label": "Path below the plugin's root", spellcheck: "false" });
  const paths = h("datalist", { id: "http-paths" });
  const headers = h("textarea", { rows: 2, placeholder: "Header: value (one a line)", "aria-label": "Request headers", spellcheck: "false" });
  const body = h("textarea", { rows: 4, placeholder: "request body (JSON or text)", "aria-label": "Request body", spellcheck: "false" });
  const asUser = h("input", { type: "checkbox" });
  const asUserLabel = h("span", {}, "as the acting user");
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const response = h("div", { class: "http-response", "aria-live": "polite" });
  const form = h("form", { class: "http-form", "aria-label": "Try the plugin's HTTP" },
    h("div", { class: "request-line" }, method, prefix, path, send),
    paths,
    h("details", {}, h("summary", {}, "Headers"), headers),
    body,
    h("label", { class: "as-user" }, asUser, " ", asUserLabel));
  entry.body.append(form, response);
  let controller = null;

  const remember = (value) => {
    const known = [...paths.options].map((o) => o.value);
    if (!known.includes(value)) paths.append(h("option", { value }));
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (controller) {
      controller.abort();
      return;
    }
    const below = path.value.startsWith("/") ? path.value : `/${path.value}`;
    const url = `${PLUGIN_ROOT}${encodeURIComponent(pluginId)}${below}`;
    const init = { method: method.value, headers: {}, credentials: "same-origin" };
    for (const line of headers.value.split("\n")) {
      const at = line.indexOf(":");
      if (at > 0) init.headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    if (method.value !== "GET" && body.value) {
      init.body = body.value;
      if (!Object.keys(init.headers).some((k) => k.toLowerCase() === "content-type")) {
        init.headers["Content-Type"] = /^\s*[[{]/.test(body.value) ? "application/json" : "text/plain";
      }
    }
    const user = window.playground?.currentUser?.();
    if (asUser.checked && user) init.headers["Mattermost-User-Id"] = user.id;
    controller = new AbortController();
    const timer = setTimeout(() => controller?.abort(), HTTP_TIMEOUT_MS);
    init.signal = controller.signal;
    send.textContent = "Stop";
    fill(response, h("p", { class: "muted" }, `${method.value} ${url} …`));
    const started = performance.now();
    try {
      const answer = await fetch(url, init);
      const text = await answer.text();
      const elapsed = performance.now() - started;
      const type = answer.headers.get("content-type") || "";
      let shown = text;
      if (type.includes("json")) {
        try {
          shown = JSON.stringify(JSON.parse(text), null, 2);
        } catch {
          /* not JSON after all */
        }
      }
      remember(below);
      fill(response,
        h("p", { class: `status-code status-${String(answer.status)[0]}xx`, dataset: { status: String(answer.status) } },
          h("strong", {}, `${answer.status} ${answer.statusText}`), h("span", { class: "muted" }, ` · ${elapsed.toFixed(0)} ms · ${formatBytes(new Blob([text]).size)}`)),
        h("details", { class: "response-headers" }, h("summary", {}, "Response headers"),
          h("pre", {}, [...answer.headers].map(([k, v]) => `${k}: ${v}`).join("\n"))),
        text ? h("pre", { class: "response-body" }, shown) : h("p", { class: "muted" }, "(no body)"),
      );
    } catch (error) {
      fill(response, errorLine(error.name === "AbortError" ? "Stopped (no answer, or you stopped it)." : error));
    } finally {
      clearTimeout(timer);
      controller = null;
      send.textContent = "Send";
    }
  });

  async function load() {
    if (!pluginId) {
      try {
        pluginId = (await request("GET", "/dev/status")).plugin_id;
      } catch {
        return;
      }
    }
    prefix.textContent = `${PLUGIN_ROOT}${pluginId}`;
    prefix.title = prefix.textContent;
    const user = window.playground?.currentUser?.();
    asUserLabel.textContent = user
      ? `as @${user.username}, the acting user (unchecked: as admin)`
      : "as the acting user (unchecked: as admin)";
    try {
      const data = await request("GET", "/dev/hooks?hook=ServeHTTP&per_page=50");
      for (const call of data.calls) {
        const [, target] = call.args.split(" ");
        if (target) remember(target);
      }
    } catch {
      /* suggestions only */
    }
    entry.section.dataset.loaded = "true";
  }
  onEvent((envelope) => envelope.event === "playground_user_changed" && entry.shown && load());
  return load;
}

// --- the aside ---------------------------------------------------------------------------

function mount() {
  const aside = document.getElementById("author-panels");
  if (!aside) return;
  panel("hooks", "Hooks", hooksPanel);
  panel("logs", "Logs", logsPanel);
  panel("status", "Status", statusPanel);
  panel("kv", "KV", kvPanel);
  panel("settings", "Settings", settingsPanel);
  panel("http", "HTTP", httpPanel);
  const tabs = h("div", { class: "panel-tabs", role: "tablist", "aria-label": "Author panels" }, panels.map((p) => p.tab));
  tabs.addEventListener("keydown", (event) => {
    const at = panels.findIndex((p) => p.shown);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step === undefined) return;
    const next = panels[(at + step + panels.length) % panels.length];
    show(next);
    next.tab.focus();
  });
  const collapse = h("button", { type: "button", class: "collapse", "aria-expanded": "true", title: "Hide or show the author panels" }, "⟩");
  collapse.addEventListener("click", () => {
    const hidden = aside.classList.toggle("collapsed");
    collapse.setAttribute("aria-expanded", String(!hidden));
    collapse.textContent = hidden ? "⟨" : "⟩";
  });
  aside.append(h("div", { class: "panels-head" }, collapse, tabs), ...panels.map((p) => p.section));
  connectEvents();
  let chosen = null;
  try {
    chosen = localStorage.getItem("playground.panel");
  } catch {
    /* private mode */
  }
  show(panels.find((p) => p.id === chosen) || panels[0]);
  aside.dataset.ready = "true";
}

mount();
