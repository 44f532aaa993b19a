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
//
// This file makes the aside and its tabs; the panels are in panels-watch.js (hooks, logs,
// status, KV) and panels-forms.js (settings, HTTP); panels-kit.js has what they share.

import { connectEvents, h } from "./panels-kit.js";
import { httpPanel, settingsPanel } from "./panels-forms.js";
import { hooksPanel, kvPanel, logsPanel, statusPanel } from "./panels-watch.js";

const panels = [];

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
