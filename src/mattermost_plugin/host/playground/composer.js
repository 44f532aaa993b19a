// The message box: the plugin's slash commands with their hints, sending posts and
// commands, and what the plugin made of them.

import { $, el, get, notice, post, run, state } from "./core.js";
import { addLocalNote, addPost } from "./posts.js";

export async function loadCommands() {
  try {
    const all = await get(`/api/v4/teams/${state.team.id}/commands/autocomplete`);
    state.commands = all.filter((command) => command.plugin_id);
  } catch (error) {
    state.commands = [];
    notice(`Could not list the commands: ${error.message}`);
  }
}

// Suggestions for what is typed: each command, and for a hint listing subcommands
// ("[add|list|done]"), each subcommand.
function suggestionsFor(text) {
  if (!text.startsWith("/") || text.includes("\n")) return [];
  const typed = text.toLowerCase();
  const found = [];
  for (const command of state.commands) {
    const base = `/${command.trigger}`;
    const hint = command.auto_complete_hint || "";
    const subs = /^\[([a-z0-9_-]+(?:\|[a-z0-9_-]+)+)\]$/i.exec(hint.trim());
    found.push({ text: base, hint, description: command.auto_complete_desc || command.description || "" });
    if (subs) {
      for (const sub of subs[1].split("|")) {
        found.push({ text: `${base} ${sub}`, hint: "", description: `${base} subcommand` });
      }
    }
  }
  // What starts with the text typed; once arguments are being typed, the command itself
  // (the deepest one: "/todo add", not "/todo"), for its hint.
  const deepest = (s) => !found.some((other) => other.text.startsWith(s.text + " ") && typed.startsWith(other.text + " "));
  return found.filter((s) => s.text.startsWith(typed.trimEnd()) || (typed.startsWith(s.text + " ") && deepest(s)));
}

const composer = { active: -1, shown: [] };

export function showSuggestions() {
  const box = $("#message-box");
  const list = $("#suggestions");
  composer.shown = suggestionsFor(box.value);
  if (composer.active >= composer.shown.length) composer.active = composer.shown.length - 1;
  list.replaceChildren(
    ...composer.shown.map((s, index) =>
      el("li", {
        id: `suggestion-${index}`, role: "option", class: "suggestion",
        "aria-selected": index === composer.active ? "true" : "false",
        onmousedown: (event) => { event.preventDefault(); complete(index); },
      }, el("span", { class: "trigger" }, s.text), s.hint && el("span", { class: "args" }, s.hint),
      el("span", { class: "desc" }, s.description)),
    ),
  );
  list.hidden = composer.shown.length === 0;
  box.setAttribute("aria-expanded", String(!list.hidden));
  if (composer.active >= 0) box.setAttribute("aria-activedescendant", `suggestion-${composer.active}`);
  else box.removeAttribute("aria-activedescendant");
}

function complete(index) {
  const box = $("#message-box");
  const chosen = composer.shown[index];
  if (!chosen) return;
  box.value = chosen.text + " ";
  composer.active = -1;
  box.focus();
  showSuggestions();
}

export function onComposerKey(event) {
  const open = !$("#suggestions").hidden;
  if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    const count = composer.shown.length;
    composer.active = (composer.active + step + count + (composer.active < 0 && step < 0 ? 1 : 0)) % count;
    showSuggestions();
  } else if (open && event.key === "Tab" && !event.shiftKey) {
    event.preventDefault();
    complete(Math.max(composer.active, 0));
  } else if (open && event.key === "Escape") {
    composer.active = -1;
    $("#suggestions").hidden = true;
  } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    const chosen = open ? composer.shown[composer.active] : undefined;
    const box = $("#message-box");
    if (chosen && !box.value.startsWith(chosen.text + " ")) complete(composer.active);
    else run(() => send(box, ""));
  }
}

export function onComposerInput() {
  composer.active = -1;
  autosize($("#message-box"));
  showSuggestions();
}

export function autosize(box) {
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
}

export async function send(box, rootId) {
  const text = box.value;
  if (!text.trim() || !state.channel) return;
  box.value = "";
  autosize(box);
  if (box.id === "message-box") showSuggestions();
  if (text.startsWith("/")) await runCommand(text.trim(), rootId);
  else await createPost(text, rootId);
}

async function createPost(message, rootId) {
  const channel = state.channel;
  try {
    const created = await post("/api/v4/posts", { channel_id: channel.id, message, root_id: rootId || "" });
    if (created.message !== message) state.modified.set(created.id, message);
    addPost(created);
  } catch (error) {
    const rejected = error.status === 400 && /^Post rejected by plugin\./.test(error.message);
    const dismissed = error.id === "plugin.message_will_be_posted.dismiss_post";
    addLocalNote(channel.id, rootId, message,
      dismissed ? "dismissed" : rejected ? "rejected" : "failed",
      dismissed ? "The plugin dismissed this message (nobody sees it)."
        : rejected ? error.message.replace(/^Post rejected by plugin\.\s*/, "") || "(no reason given)"
          : error.message);
  }
}

async function runCommand(command, rootId) {
  const channel = state.channel;
  try {
    const answer = await post("/api/v4/commands/execute", {
      channel_id: channel.id, team_id: state.team.id, command, root_id: rootId || "",
    });
    if (answer?.goto_location) notice(`The command points to ${answer.goto_location}`, "info");
  } catch (error) {
    addLocalNote(channel.id, rootId, command, "failed", error.message);
  }
}
