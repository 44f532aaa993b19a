// The author panels with forms (panels.js): the plugin's settings as the System Console
// shows them, and requests to try the plugin's HTTP routes.

import { PLUGIN_ROOT, errorLine, fill, formatBytes, h, onEvent, pluginId, request, session } from "./panels-kit.js";

const HTTP_TIMEOUT_MS = 30_000;

// Settings: the manifest's settings_schema as the System Console shows it.
export function settingsPanel(entry) {
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
            setting.regenerate_help_text ? h("p", { class: "help" }, setting.regenerate_help_text) : null,
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
    return Object.entries(plugins).find(([id]) => id.toLowerCase() === session.pluginId.toLowerCase())?.[1] || {};
  }

  async function load() {
    try {
      await pluginId();
      const plugins = await request("GET", "/api/v4/plugins");
      const manifest = [...plugins.active, ...plugins.inactive].find((m) => m.id === session.pluginId);
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
    const patch = { PluginSettings: { Plugins: { [session.pluginId]: collect() } } };
    try {
      const saved = await request("PUT", "/api/v4/config/patch", patch);
      const mine = Object.entries(saved?.PluginSettings?.Plugins || {}).find(([id]) => id.toLowerCase() === session.pluginId.toLowerCase())?.[1] || {};
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
export function httpPanel(entry) {
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
    const url = `${PLUGIN_ROOT}${encodeURIComponent(session.pluginId)}${below}`;
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
    try {
      await pluginId();
    } catch {
      return;
    }
    prefix.textContent = `${PLUGIN_ROOT}${session.pluginId}`;
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
