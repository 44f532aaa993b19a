// The playground: a page that acts like Mattermost, for the plugin the dev server runs.
//
// It is a client of the dev server like any other: the REST API (/api/v4/...) for users,
// teams, channels, posts, reactions, commands, buttons and dialogs, and /dev/events for
// what happens (the server's WebSocket events, as server-sent events). Every request
// carries `Mattermost-User-Id` (the dev server's header for acting as a user), so the
// user switch changes who posts, clicks and joins. No build step, no third-party code.
//
// For the author panels (panels.js), the page exposes `window.playground`:
//   currentUser()  the acting user (the server's user object), or null while loading;
//   onEvent(fn)    calls fn(envelope) for every event of /dev/events ({event, data,
//                  broadcast, seq}; data.post and the like are JSON text, as the server
//                  sends them); also {event: "playground_user_changed", data: {user}}
//                  when the switch changes the acting user. Returns a function that
//                  unsubscribes.

const $ = (selector) => document.querySelector(selector);
const listeners = new Set();
const state = {
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

window.playground = Object.freeze({
  currentUser: () => state.me,
  onEvent(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
});

function emit(envelope) {
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
  }
}

async function api(method, path, body, { asAdmin = false } = {}) {
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

const get = (path) => api("GET", path);
const post = (path, body = {}) => api("POST", path, body);

// --- small DOM helpers -------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
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

function notice(text, level = "error") {
  const box = $("#notices") || document.body.appendChild(el("div", { id: "notices", "aria-live": "assertive" }));
  const item = el("div", { class: `notice ${level}`, role: level === "error" ? "alert" : "status" }, text);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

function formatTime(ms) {
  const date = new Date(ms);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// --- message text: a small, safe part of Mattermost's Markdown (built as DOM nodes) --------

const EMOJI = {
  "+1": "👍", thumbsup: "👍", "-1": "👎", heart: "❤️", smile: "😄", laughing: "😆",
  tada: "🎉", eyes: "👀", white_check_mark: "✅", x: "❌", rocket: "🚀", wave: "👋",
  warning: "⚠️", fire: "🔥", thinking: "🤔", pray: "🙏", ok_hand: "👌", clap: "👏",
};
const PICKER = ["+1", "heart", "smile", "tada", "eyes", "white_check_mark"];
const emojiOf = (name) => EMOJI[name] || `:${name}:`;

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(~~[^~\n]+~~)|(\*[^*\n]+\*|_[^_\n]+_)|\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)|(https?:\/\/[^\s<>()]+)|(@[a-z0-9._-]+)|:([a-z0-9_+-]+):/gi;

function inline(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    const [whole, code, bold, strike, italic, linkText, linkUrl, url, mention, emoji] = match;
    if (code) nodes.push(el("code", {}, code.slice(1, -1)));
    else if (bold) nodes.push(el("strong", {}, inline(bold.slice(2, -2))));
    else if (strike) nodes.push(el("del", {}, inline(strike.slice(2, -2))));
    else if (italic) nodes.push(el("em", {}, inline(italic.slice(1, -1))));
    else if (linkText) nodes.push(el("a", { href: linkUrl, target: "_blank", rel: "noopener noreferrer" }, linkText));
    else if (url) nodes.push(el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, url));
    else if (mention) nodes.push(el("span", { class: "mention" }, mention));
    else if (emoji && EMOJI[emoji]) nodes.push(el("span", { class: "emoji", title: `:${emoji}:` }, EMOJI[emoji]));
    else nodes.push(whole);
    last = match.index + whole.length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

function markdown(text) {
  const root = el("div", { class: "markdown" });
  const parts = (text || "").split(/```[a-z]*\n?/i);
  parts.forEach((part, index) => {
    if (index % 2 === 1) root.append(el("pre", {}, el("code", {}, part.replace(/\n$/, ""))));
    else if (part) root.append(el("span", {}, inline(part)));
  });
  return root;
}

// --- users, teams, channels --------------------------------------------------------------

async function userOf(id) {
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

const nameOf = (id) => state.users.get(id)?.username || (id ? id.slice(0, 8) : "system");

async function loadUsers() {
  const users = await get("/api/v4/users?per_page=200");
  for (const user of users) state.users.set(user.id, user);
  const select = $("#acting-user");
  const people = users.filter((user) => !user.is_bot && !user.delete_at);
  select.replaceChildren(
    ...people.map((user) => el("option", { value: user.id, selected: user.id === state.me?.id }, `@${user.username}`)),
    el("option", { value: "" }, "Add a user…"),
  );
}

async function actAs(userId, { initial = false } = {}) {
  const me = userId ? await api("GET", `/api/v4/users/${userId}`, undefined, { asAdmin: true }) : await get("/api/v4/users/me");
  state.me = me;
  state.users.set(me.id, me);
  state.ephemeral = [];
  const url = new URL(location.href);
  url.searchParams.set("as", me.username);
  history.replaceState(null, "", url);
  if (!initial) emit({ event: "playground_user_changed", data: { user: me }, broadcast: {}, seq: 0 });
  await loadUsers();
  await loadTeams();
}

async function loadTeams() {
  state.teams = await get(`/api/v4/users/${state.me.id}/teams`);
  const team = state.teams.find((t) => t.id === state.team?.id) || state.teams[0] || null;
  $("#teams").replaceChildren(
    ...state.teams.map((t) =>
      el("button", {
        type: "button", class: "team", title: t.display_name, "aria-label": `Team ${t.display_name}`,
        dataset: { teamId: t.id },
        onclick: () => run(() => selectTeam(t)),
      }, (t.display_name || t.name).slice(0, 2)),
    ),
  );
  await selectTeam(team);
}

async function selectTeam(team) {
  state.team = team;
  $("#team-name").textContent = team ? team.display_name : "No team";
  for (const button of document.querySelectorAll("#teams .team")) {
    if (button.dataset.teamId === team?.id) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
  if (!team) {
    state.channels = [];
    renderChannels();
    await selectChannel(null);
    return;
  }
  await Promise.all([loadChannels(), loadCommands()]);
  const keep = state.channels.find((c) => c.id === state.channel?.id);
  await selectChannel(keep || state.channels.find((c) => c.name === "town-square") || state.channels[0] || null);
}

async function loadChannels() {
  const [mine, open] = await Promise.all([
    get(`/api/v4/users/${state.me.id}/teams/${state.team.id}/channels`),
    get(`/api/v4/teams/${state.team.id}/channels`),
  ]);
  state.channels = mine.filter((c) => !c.delete_at).sort((a, b) => channelLabel(a).localeCompare(channelLabel(b)));
  const joined = new Set(state.channels.map((c) => c.id));
  state.joinable = open.filter((c) => !joined.has(c.id) && !c.delete_at);
  renderChannels();
}

function channelLabel(channel) {
  if (channel.type === "D" || channel.type === "G") {
    const others = channel.name.split("__").filter((id) => id !== state.me?.id);
    return others.map((id) => "@" + nameOf(id)).join(", ") || channel.display_name || channel.name;
  }
  return channel.display_name || channel.name;
}

function renderChannels() {
  const sigil = { O: "#", P: "🔒", D: "@", G: "@" };
  $("#channels").replaceChildren(
    ...state.channels.map((channel) =>
      el("li", {},
        el("button", {
          type: "button", class: "channel", dataset: { channelId: channel.id },
          "aria-current": channel.id === state.channel?.id ? "page" : undefined,
          onclick: () => run(() => selectChannel(channel)),
        }, el("span", { class: "sigil", "aria-hidden": "true" }, sigil[channel.type] || "#"),
        el("span", { class: "label" }, channelLabel(channel))),
      ),
    ),
  );
  $("#joinable").replaceChildren(
    ...(state.joinable || []).map((channel) =>
      el("li", {}, el("span", {}, channel.display_name),
        el("button", { type: "button", onclick: () => joinChannel(channel) }, "Join")),
    ),
  );
  $("#more-channels").hidden = !(state.joinable || []).length;
}

async function joinChannel(channel) {
  try {
    await post(`/api/v4/channels/${channel.id}/members`, { user_id: state.me.id });
    await loadChannels();
    await selectChannel(state.channels.find((c) => c.id === channel.id) || null);
  } catch (error) {
    notice(`Could not join ${channel.display_name}: ${error.message}`);
  }
}

async function leaveChannel() {
  const channel = state.channel;
  if (!channel) return;
  try {
    await api("DELETE", `/api/v4/channels/${channel.id}/members/${state.me.id}`);
    state.channel = null;
    await loadChannels();
    await selectChannel(state.channels.find((c) => c.name === "town-square") || state.channels[0] || null);
  } catch (error) {
    notice(`Could not leave ${channel.display_name}: ${error.message}`);
  }
}

let selecting = 0;

async function selectChannel(channel) {
  const ticket = ++selecting;
  state.channel = channel;
  state.posts = new Map(state.ephemeral.map((p) => [p.id, p]));
  state.order = [];
  closeThread();
  for (const button of document.querySelectorAll("#channels .channel")) {
    if (button.dataset.channelId === channel?.id) {
      button.setAttribute("aria-current", "page");
      button.classList.remove("unread");
    } else {
      button.removeAttribute("aria-current");
    }
  }
  $("#channel-name").textContent = channel ? channelLabel(channel) : "No channel";
  $("#channel-purpose").textContent = channel?.purpose || channel?.header || "";
  $("#leave-channel").hidden = !channel || channel.name === "town-square" || channel.type === "D" || channel.type === "G";
  $("#message-box").disabled = !channel;
  if (channel) {
    const list = await get(`/api/v4/channels/${channel.id}/posts?per_page=200`);
    await Promise.all(list.order.map((id) => userOf(list.posts[id].user_id)));
    if (ticket !== selecting) return; // another channel was chosen meanwhile
    for (const id of list.order) state.posts.set(id, list.posts[id]);
    const ephemeral = state.ephemeral.filter((p) => p.channel_id === channel.id).map((p) => p.id);
    state.order = [...list.order, ...ephemeral];
    state.order.sort((a, b) => state.posts.get(a).create_at - state.posts.get(b).create_at);
  }
  renderPosts();
  $("#playground").dataset.channelId = channel?.id || "";
}

// --- slash commands ----------------------------------------------------------------------

async function loadCommands() {
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

function showSuggestions() {
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

function onComposerKey(event) {
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

function autosize(box) {
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
}

async function send(box, rootId) {
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

let localNotes = 0;

function addLocalNote(channelId, rootId, message, kind, reason) {
  const note = {
    id: `local-${++localNotes}`, channel_id: channelId, root_id: rootId || "", message,
    user_id: state.me.id, create_at: Date.now(), _note: { kind, reason },
  };
  state.posts.set(note.id, note);
  if (channelId === state.channel?.id) state.order.push(note.id);
  renderPosts();
}

// --- posts -------------------------------------------------------------------------------

function addPost(p) {
  if (p.channel_id !== state.channel?.id) {
    document.querySelector(`#channels .channel[data-channel-id="${CSS.escape(p.channel_id)}"]`)?.classList.add("unread");
    return;
  }
  const known = state.posts.has(p.id);
  const current = state.posts.get(p.id);
  if (current && current.update_at > p.update_at) return;
  state.posts.set(p.id, p);
  if (!known) {
    state.order.push(p.id);
    state.order.sort((a, b) => state.posts.get(a).create_at - state.posts.get(b).create_at);
  }
  run(() => userOf(p.user_id).then(renderPosts));
}

function removePost(id) {
  state.posts.delete(id);
  state.order = state.order.filter((other) => other !== id);
  state.ephemeral = state.ephemeral.filter((p) => p.id !== id);
  renderPosts();
}

function repliesTo(rootId) {
  return state.order.filter((id) => state.posts.get(id)?.root_id === rootId).length;
}

function renderPosts() {
  renderList($("#posts"), state.order.map((id) => state.posts.get(id)).filter(Boolean), true);
  if (state.thread) renderThread();
}

function renderList(list, posts, withThreads) {
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const focused = document.activeElement?.closest?.(".post")?.dataset.postId;
  list.replaceChildren(...posts.map((p) => renderPost(p, withThreads)));
  if (!posts.length) list.append(el("li", { class: "empty" }, "No messages yet. Say something, or try a slash command."));
  if (atBottom || list.dataset.rendered !== state.channel?.id) list.scrollTop = list.scrollHeight;
  list.dataset.rendered = state.channel?.id || "";
  if (focused) list.querySelector(`[data-post-id="${CSS.escape(focused)}"]`)?.focus?.();
}

function renderPost(p, withThreads) {
  const user = state.users.get(p.user_id);
  const name = p.props?.override_username || user?.username || nameOf(p.user_id);
  const system = p.type && p.type.startsWith("system_");
  const classes = ["post"];
  if (p.type === "ephemeral" || p._ephemeral) classes.push("ephemeral");
  if (system) classes.push("system");
  if (p._note) classes.push(`note-${p._note.kind}`);
  if (p.root_id) classes.push("reply");
  const item = el("li", { class: classes.join(" "), dataset: { postId: p.id }, tabindex: "-1" });
  const head = el("div", { class: "post-head" },
    el("span", { class: "avatar", "aria-hidden": "true" }, name.slice(0, 1).toUpperCase()),
    el("strong", { class: "author" }, name),
    user?.is_bot && el("span", { class: "badge" }, "BOT"),
    el("time", { datetime: new Date(p.create_at).toISOString() }, formatTime(p.create_at)),
    p.edit_at > 0 && el("span", { class: "edited" }, "(edited)"),
  );
  item.append(head);
  if (p.root_id && withThreads) {
    const root = state.posts.get(p.root_id);
    item.append(el("button", { type: "button", class: "reply-to link", onclick: () => run(() => openThread(p.root_id)) },
      `↪ reply to ${root ? `@${nameOf(root.user_id)}: ${(root.message || "").slice(0, 60)}` : "a thread"}`));
  }
  item.append(el("div", { class: "post-message" }, markdown(p.message)));
  if (p._note) {
    const label = { rejected: "Rejected by the plugin", dismissed: "Dismissed", failed: "Not sent" }[p._note.kind];
    item.append(el("div", { class: `post-outcome ${p._note.kind}`, role: "note" },
      el("strong", {}, `${label}: `), el("span", { class: "reason" }, p._note.reason)));
  }
  const sent = state.modified.get(p.id);
  if (sent !== undefined) {
    item.append(el("div", { class: "post-outcome modified", role: "note" },
      el("strong", {}, "Modified by the plugin"), " — you wrote: ", el("span", { class: "original" }, sent)));
  }
  const attachments = p.props?.attachments;
  if (Array.isArray(attachments)) item.append(...attachments.map((a) => renderAttachment(p, a)));
  if (p.type === "ephemeral" || p._ephemeral) {
    item.append(el("div", { class: "only-you" }, "(Only visible to you)",
      el("button", { type: "button", class: "link", onclick: () => removePost(p.id) }, "Dismiss")));
  }
  if (!p._note && !system && p.type !== "ephemeral") {
    item.append(renderReactions(p));
    const actions = el("div", { class: "post-actions" },
      el("button", { type: "button", class: "react", "aria-label": "Add a reaction", "aria-haspopup": "true",
        onclick: (event) => togglePicker(event.currentTarget, p) }, "☺+"));
    if (withThreads) {
      actions.append(el("button", { type: "button", class: "reply", onclick: () => run(() => openThread(p.root_id || p.id)) }, "Reply"));
      const replies = p.root_id ? 0 : repliesTo(p.id);
      if (replies) {
        item.append(el("button", { type: "button", class: "replies link", onclick: () => run(() => openThread(p.id)) },
          `${replies} ${replies === 1 ? "reply" : "replies"}`));
      }
    }
    item.append(actions);
  }
  return item;
}

// --- reactions -----------------------------------------------------------------------------

function renderReactions(p) {
  const counts = new Map();
  for (const r of p.metadata?.reactions || []) {
    if (!counts.has(r.emoji_name)) counts.set(r.emoji_name, []);
    counts.get(r.emoji_name).push(r.user_id);
  }
  return el("div", { class: "reactions" },
    ...[...counts].map(([emoji, users]) => {
      const mine = users.includes(state.me.id);
      return el("button", {
        type: "button", class: "reaction", "aria-pressed": String(mine),
        title: users.map((id) => "@" + nameOf(id)).join(", ") + ` reacted with :${emoji}:`,
        onclick: () => react(p, emoji, mine),
      }, emojiOf(emoji), " ", String(users.length));
    }),
  );
}

function togglePicker(button, p) {
  const open = button.parentElement.querySelector(".picker");
  if (open) {
    open.remove();
    return;
  }
  const picker = el("div", { class: "picker", role: "menu", "aria-label": "Reactions" },
    ...PICKER.map((emoji) => el("button", {
      type: "button", role: "menuitem", title: `:${emoji}:`,
      onclick: () => { picker.remove(); react(p, emoji, false); },
    }, emojiOf(emoji))));
  button.after(picker);
  picker.querySelector("button").focus();
}

async function react(p, emoji, remove) {
  try {
    if (remove) await api("DELETE", `/api/v4/users/${state.me.id}/posts/${p.id}/reactions/${encodeURIComponent(emoji)}`);
    else await post("/api/v4/reactions", { user_id: state.me.id, post_id: p.id, emoji_name: emoji });
  } catch (error) {
    notice(`Reaction not saved: ${error.message}`);
  }
}

function onReaction(reaction, added) {
  const p = state.posts.get(reaction.post_id);
  if (!p) return;
  const metadata = (p.metadata ||= {});
  const others = (metadata.reactions || []).filter(
    (r) => !(r.user_id === reaction.user_id && r.emoji_name === reaction.emoji_name));
  metadata.reactions = added ? [...others, reaction] : others;
  renderPosts();
}

// --- message attachments: buttons and menus ------------------------------------------------

function renderAttachment(p, a) {
  const box = el("div", { class: "attachment", style: a.color ? { "--bar": safeColor(a.color) } : undefined });
  if (a.pretext) box.append(el("div", { class: "pretext" }, markdown(a.pretext)));
  if (a.author_name) box.append(el("div", { class: "author-name" }, a.author_name));
  if (a.title) {
    box.append(el("div", { class: "title" }, a.title_link && /^https?:/.test(a.title_link)
      ? el("a", { href: a.title_link, target: "_blank", rel: "noopener noreferrer" }, a.title) : a.title));
  }
  if (a.text) box.append(el("div", { class: "text" }, markdown(a.text)));
  if (Array.isArray(a.fields) && a.fields.length) {
    box.append(el("dl", { class: "fields" }, ...a.fields.flatMap((f) => [
      el("dt", { class: f.short ? "short" : "" }, f.title || ""),
      el("dd", { class: f.short ? "short" : "" }, markdown(String(f.value ?? ""))),
    ])));
  }
  if (Array.isArray(a.actions) && a.actions.length) {
    box.append(el("div", { class: "actions" }, ...a.actions.map((action) => renderAction(p, action))));
  }
  if (a.footer) box.append(el("div", { class: "footer" }, a.footer));
  return box;
}

function safeColor(color) {
  const named = { good: "#3db887", warning: "#ffbc1f", danger: "#d24b4e" };
  return named[color] || (/^#[0-9a-f]{3,8}$/i.test(color) ? color : "#8c8c8c");
}

function renderAction(p, action) {
  if (action.type === "select") {
    const options = action.data_source === "users"
      ? [...state.users.values()].filter((u) => !u.is_bot).map((u) => ({ text: "@" + u.username, value: u.id }))
      : action.data_source === "channels"
        ? state.channels.filter((c) => c.type === "O").map((c) => ({ text: c.display_name, value: c.id }))
        : action.options || [];
    const select = el("select", {
      class: "action-menu", "aria-label": action.name || "Choose",
      onchange: (event) => clickAction(p, action, event.target.value, event.target),
    },
    el("option", { value: "", disabled: true, selected: !action.default_option }, action.name || "Choose…"),
    ...options.map((o) => el("option", { value: o.value, selected: o.value === action.default_option }, o.text)));
    return select;
  }
  return el("button", {
    type: "button", class: `action-button ${action.style || "default"}`, disabled: action.disabled,
    onclick: (event) => clickAction(p, action, undefined, event.currentTarget),
  }, action.name || "Button");
}

async function clickAction(p, action, selected, control) {
  control.disabled = true;
  try {
    const body = selected === undefined ? {} : { selected_option: selected };
    const answer = await post(`/api/v4/posts/${p.id}/actions/${encodeURIComponent(action.id)}`, body);
    if (answer?.goto_location) notice(`The plugin points to ${answer.goto_location}`, "info");
  } catch (error) {
    notice(`${action.name || "The action"} failed: ${error.message}`);
  } finally {
    if (control.isConnected) control.disabled = false;
  }
}

// --- threads -----------------------------------------------------------------------------

async function openThread(rootId) {
  state.thread = rootId;
  $("#thread").hidden = false;
  try {
    const thread = await get(`/api/v4/posts/${rootId}/thread`);
    for (const [id, p] of Object.entries(thread.posts)) {
      await userOf(p.user_id);
      if (!state.posts.has(id)) state.posts.set(id, p);
    }
  } catch (error) {
    notice(`Could not load the thread: ${error.message}`);
  }
  renderThread();
  $("#reply-box").focus();
}

function closeThread() {
  state.thread = null;
  $("#thread").hidden = true;
}

function renderThread() {
  const posts = [...state.posts.values()]
    .filter((p) => p.id === state.thread || p.root_id === state.thread)
    .sort((a, b) => a.create_at - b.create_at);
  renderList($("#thread-posts"), posts, false);
}

// --- interactive dialogs -----------------------------------------------------------------

function openDialog(request) {
  const { dialog } = request;
  state.dialog = request;
  $("#dialog-title").textContent = dialog.title || "Dialog";
  $("#dialog-intro").replaceChildren(...(dialog.introduction_text ? [markdown(dialog.introduction_text)] : []));
  $("#dialog-error").textContent = "";
  $("#dialog-submit").textContent = dialog.submit_label || "Submit";
  $("#dialog-fields").replaceChildren(...(dialog.elements || []).map(renderField));
  const modal = $("#dialog");
  if (!modal.open) modal.showModal();
  modal.querySelector("input, textarea, select")?.focus();
}

function renderField(element) {
  const id = `field-${element.name}`;
  const help = element.help_text ? el("small", { class: "help", id: `${id}-help` }, element.help_text) : null;
  const common = {
    id, name: element.name, required: !element.optional, "aria-describedby": help ? `${id}-help` : undefined,
  };
  let control;
  const value = element.default ?? "";
  if (element.type === "textarea") {
    control = el("textarea", { ...common, placeholder: element.placeholder, maxlength: element.max_length || undefined, minlength: element.min_length || undefined, rows: 3 }, value);
  } else if (element.type === "select" || element.type === "radio") {
    const options = element.data_source === "users"
      ? [...state.users.values()].filter((u) => !u.is_bot).map((u) => ({ text: "@" + u.username, value: u.id }))
      : element.data_source === "channels"
        ? state.channels.map((c) => ({ text: channelLabel(c), value: c.id }))
        : element.options || [];
    if (element.type === "radio") {
      control = el("div", { role: "radiogroup", id, "aria-labelledby": `${id}-label` },
        ...options.map((o, index) => el("label", { class: "radio" },
          el("input", { type: "radio", name: element.name, value: o.value, checked: o.value === value || (!value && index === 0 && !element.optional) }), o.text)));
    } else {
      control = el("select", common,
        el("option", { value: "" }, element.placeholder || "Choose…"),
        ...options.map((o) => el("option", { value: o.value, selected: o.value === value }, o.text)));
    }
  } else if (element.type === "bool") {
    control = el("label", { class: "checkbox" },
      el("input", { ...common, type: "checkbox", checked: value === true || value === "true" }),
      element.placeholder || "");
  } else {
    const subtype = ["email", "number", "password", "tel", "url"].includes(element.subtype) ? element.subtype : "text";
    control = el("input", { ...common, type: subtype, value, placeholder: element.placeholder, maxlength: element.max_length || undefined, minlength: element.min_length || undefined });
  }
  return el("div", { class: "field", dataset: { field: element.name } },
    el("label", { for: id, id: `${id}-label` }, element.display_name || element.name, element.optional ? el("span", { class: "optional" }, " (optional)") : ""),
    control, help, el("p", { class: "field-error error", role: "alert" }));
}

function dialogSubmission() {
  const submission = {};
  for (const element of state.dialog.dialog.elements || []) {
    if (element.type === "bool") {
      submission[element.name] = $(`#field-${CSS.escape(element.name)}`).checked;
    } else if (element.type === "radio") {
      const checked = document.querySelector(`#dialog input[name="${CSS.escape(element.name)}"]:checked`);
      if (checked) submission[element.name] = checked.value;
    } else {
      const value = $(`#field-${CSS.escape(element.name)}`).value;
      if (value !== "" || !element.optional) submission[element.name] = element.subtype === "number" && value !== "" ? Number(value) : value;
    }
  }
  return submission;
}

async function submitDialog(cancelled) {
  const request = state.dialog;
  if (!request) return;
  const { dialog } = request;
  for (const node of document.querySelectorAll("#dialog .field-error")) node.textContent = "";
  $("#dialog-error").textContent = "";
  const body = {
    url: request.url, callback_id: dialog.callback_id || "", state: dialog.state || "",
    user_id: state.me.id, channel_id: state.channel?.id || "", team_id: state.team?.id || "",
    cancelled, submission: cancelled ? {} : dialogSubmission(),
  };
  if (!cancelled) {
    // As the webapp: a required field must be filled in, a required checkbox checked.
    const missing = (dialog.elements || []).filter((e) => !e.optional && [undefined, "", false].includes(body.submission[e.name]));
    if (missing.length) {
      for (const e of missing) fieldError(e.name, "This field is required.");
      return;
    }
  }
  try {
    const answer = await post("/api/v4/actions/dialogs/submit", body);
    if (!cancelled && (answer?.error || (answer?.errors && Object.keys(answer.errors).length))) {
      $("#dialog-error").textContent = answer.error || "";
      for (const [name, message] of Object.entries(answer.errors || {})) fieldError(name, message);
      return;
    }
    closeDialog();
  } catch (error) {
    if (cancelled) closeDialog();
    else $("#dialog-error").textContent = error.message;
  }
}

// The plugin hears of a cancelled dialog only when it asked to (notify_on_cancel).
function cancelDialog() {
  if (state.dialog?.dialog?.notify_on_cancel) submitDialog(true);
  else closeDialog();
}

function fieldError(name, message) {
  const field = document.querySelector(`#dialog .field[data-field="${CSS.escape(name)}"]`);
  if (field) {
    field.querySelector(".field-error").textContent = message;
    field.querySelector("input, textarea, select")?.setAttribute("aria-invalid", "true");
  } else {
    $("#dialog-error").textContent += ` ${name}: ${message}`;
  }
}

function closeDialog() {
  state.dialog = null;
  const modal = $("#dialog");
  if (modal.open) modal.close();
  $("#message-box").focus();
}

// --- live events -------------------------------------------------------------------------

const parsed = (text) => (typeof text === "string" ? JSON.parse(text) : text);

function forMe(broadcast) {
  return !broadcast?.user_id || broadcast.user_id === state.me?.id;
}

const handlers = {
  posted({ data }) {
    addPost(parsed(data.post));
  },
  post_edited({ data, broadcast }) {
    if (!forMe(broadcast)) return;
    const p = parsed(data.post);
    if (p.type === "ephemeral") {
      onEphemeral(p);
      return;
    }
    if (state.posts.has(p.id)) {
      state.posts.set(p.id, { ...p, metadata: p.metadata || state.posts.get(p.id).metadata });
      run(() => userOf(p.user_id).then(renderPosts));
    }
  },
  post_deleted({ data, broadcast }) {
    if (forMe(broadcast)) removePost(parsed(data.post).id);
  },
  ephemeral_message({ data, broadcast }) {
    if (forMe(broadcast)) onEphemeral(parsed(data.post));
  },
  reaction_added({ data }) {
    onReaction(parsed(data.reaction), true);
  },
  reaction_removed({ data }) {
    onReaction(parsed(data.reaction), false);
  },
  open_dialog({ data, broadcast }) {
    if (broadcast?.user_id === state.me?.id) openDialog(parsed(data.dialog));
  },
  typing({ data, broadcast }) {
    if (broadcast?.channel_id !== state.channel?.id || data.user_id === state.me?.id) return;
    const line = $("#typing");
    line.textContent = `@${nameOf(data.user_id)} is typing…`;
    clearTimeout(line._timer);
    line._timer = setTimeout(() => { line.textContent = ""; }, 5000);
  },
  plugin_statuses_changed({ data }) {
    showPluginStatus(data.plugin_statuses);
    if (state.team) run(loadCommands);
  },
  channel_created: refreshChannels,
  channel_updated: refreshChannels,
  channel_deleted: refreshChannels,
  user_added: refreshChannels,
  user_removed: refreshChannels,
  added_to_team: ({ data }) => { if (data.user_id === state.me?.id) run(loadTeams); },
  leave_team: ({ data }) => { if (data.user_id === state.me?.id) run(loadTeams); },
  new_user: () => run(loadUsers),
  user_updated: ({ data }) => {
    if (data.user?.id) state.users.set(data.user.id, { ...state.users.get(data.user.id), ...data.user });
  },
};

let refreshing = null;

function refreshChannels() {
  if (!state.team || refreshing) return;
  refreshing = setTimeout(() => run(async () => {
    refreshing = null;
    await loadChannels();
    if (state.channel && !state.channels.some((c) => c.id === state.channel.id)) {
      await selectChannel(state.channels.find((c) => c.name === "town-square") || state.channels[0] || null);
    }
  }), 100);
}

function onEphemeral(p) {
  p._ephemeral = true;
  state.ephemeral = [...state.ephemeral.filter((other) => other.id !== p.id), p];
  if (p.channel_id !== state.channel?.id) {
    notice(`Only visible to you, in another channel: ${p.message}`, "info");
    return;
  }
  const known = state.posts.has(p.id);
  state.posts.set(p.id, p);
  if (!known) state.order.push(p.id);
  run(() => userOf(p.user_id).then(renderPosts));
}

function showPluginStatus(statuses) {
  const names = ["not running", "starting", "running", "failed to start", "failed to stay running", "stopping"];
  const shown = (statuses || []).map((s) => `${s.name || s.plugin_id}: ${names[s.state] ?? s.state}`);
  const line = $("#plugin-status");
  line.textContent = shown.join(" · ") || "no plugin";
  line.dataset.state = statuses?.[0]?.state ?? "";
  line.title = statuses?.[0]?.error || "The plugin's state";
}

// /dev/events read with fetch rather than EventSource: an EventSource only hands out the
// event names it was told in advance, and the plugin's own events (custom_<id>_<name>)
// have names nobody knows beforehand. Reconnects with Last-Event-ID, as EventSource would.
async function connect() {
  const status = $("#connection");
  let lastId = null;
  for (;;) {
    try {
      const response = await fetch("/dev/events", {
        headers: lastId ? { "Last-Event-ID": lastId } : {}, cache: "no-store",
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      status.textContent = "live";
      status.dataset.state = "open";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = [];
          for (const line of frame.split("\n")) {
            if (line.startsWith("id:")) lastId = line.slice(3).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          if (data.length) dispatch(data.join("\n"));
        }
      }
    } catch (error) {
      console.debug("event stream", error);
    }
    status.textContent = "reconnecting…";
    status.dataset.state = "closed";
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function dispatch(text) {
  let envelope;
  try {
    envelope = JSON.parse(text);
  } catch {
    return;
  }
  if (envelope.event === "dev_missed" && state.channel) run(() => selectChannel(state.channel));
  try {
    handlers[envelope.event]?.(envelope);
  } catch (error) {
    console.error("event", envelope.event, error);
  }
  emit(envelope);
}

// --- the page ----------------------------------------------------------------------------

function wire() {
  const box = $("#message-box");
  box.addEventListener("keydown", onComposerKey);
  box.addEventListener("input", () => {
    composer.active = -1;
    autosize(box);
    showSuggestions();
  });
  box.addEventListener("blur", () => { $("#suggestions").hidden = true; });
  box.addEventListener("focus", showSuggestions);
  $("#composer").addEventListener("submit", (event) => {
    event.preventDefault();
    run(() => send(box, ""));
  });
  const reply = $("#reply-box");
  reply.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      run(() => send(reply, state.thread));
    }
  });
  reply.addEventListener("input", () => autosize(reply));
  $("#thread-composer").addEventListener("submit", (event) => {
    event.preventDefault();
    run(() => send(reply, state.thread));
  });
  $("#close-thread").addEventListener("click", closeThread);
  $("#leave-channel").addEventListener("click", leaveChannel);
  $("#acting-user").addEventListener("change", async (event) => {
    const id = event.target.value;
    if (!id) {
      $("#new-user").hidden = false;
      $("#new-user input").focus();
      return;
    }
    await run(() => actAs(id));
  });
  $("#new-user").addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = event.target.username.value.trim().toLowerCase();
    await run(async () => {
      const user = await api("POST", "/api/v4/users",
        { username, email: `${username}@example.com`, password: "Password1!" }, { asAdmin: true });
      if (state.team) {
        await api("POST", `/api/v4/teams/${state.team.id}/members`, { team_id: state.team.id, user_id: user.id }, { asAdmin: true });
      }
      event.target.reset();
      event.target.hidden = true;
      await actAs(user.id);
    });
  });
  $("#new-user [data-close]").addEventListener("click", () => {
    $("#new-user").hidden = true;
    $("#acting-user").value = state.me?.id || "";
  });
  $("#dialog-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(() => submitDialog(false));
  });
  $("#dialog-cancel").addEventListener("click", cancelDialog);
  $("#dialog").addEventListener("cancel", (event) => {
    event.preventDefault();
    cancelDialog();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.querySelector(".picker")?.remove();
  });
}

async function run(work) {
  try {
    await work();
  } catch (error) {
    notice(error.message);
  }
}

async function start() {
  wire();
  connect();
  const wanted = new URL(location.href).searchParams.get("as");
  await run(async () => {
    let id = "";
    if (wanted) {
      try {
        id = (await api("GET", `/api/v4/users/username/${encodeURIComponent(wanted)}`, undefined, { asAdmin: true })).id;
      } catch {
        notice(`No user @${wanted}: acting as the default user`);
      }
    }
    await actAs(id, { initial: true });
    const statuses = await get("/api/v4/plugins/statuses").catch(() => []);
    showPluginStatus(statuses);
  });
  $("#playground").dataset.ready = "true";
  $("#message-box").focus();
}

start();
