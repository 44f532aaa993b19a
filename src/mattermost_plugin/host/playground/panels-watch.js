// The author panels that watch the plugin (panels.js): its hook calls, its log, its status
// and its KV store, each read again when /dev/events says something changed.

import { clock, errorLine, fieldsLine, fill, formatBytes, h, onEvent, pager, request, session, throttled } from "./panels-kit.js";

// Hooks: GET /dev/hooks, live on dev_hook.
export function hooksPanel(entry) {
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
export function logsPanel(entry) {
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

export function statusPanel(entry) {
  const view = h("div", { class: "status-view" });
  entry.body.append(view);

  async function toggle(enabled) {
    try {
      await request("POST", `/api/v4/plugins/${encodeURIComponent(session.pluginId)}/${enabled ? "disable" : "enable"}`);
    } catch (error) {
      view.prepend(errorLine(error));
    }
    await load();
  }

  async function load() {
    try {
      const status = await request("GET", "/dev/status");
      session.pluginId = status.plugin_id;
      const item = (label, value) => [h("dt", {}, label), h("dd", { dataset: { field: label } }, value ?? "—")];
      fill(view,
        h("p", { class: "status-line" },
          h("span", { class: `state state-${status.state}`, "data-state": status.state }, STATE_NAMES[status.state] || status.state),
          " ", h("strong", {}, status.plugin_id),
          h("button", { type: "button", class: "small", onclick: () => toggle(status.enabled) }, status.enabled ? "Disable" : "Enable")),
        h("dl", { class: "status-list" },
          (status.nodes || []).length > 1
            ? item("PIDs", status.nodes.map((n) => `node ${n.node}: ${n.pid ?? "—"}${n.running ? "" : " (down)"}`).join(", "))
            : item("PID", status.pid),
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
export function kvPanel(entry) {
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
