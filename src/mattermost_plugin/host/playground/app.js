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
//
// The modules: core.js (state, the REST API, DOM helpers), text.js (message text),
// posts.js (the message list), composer.js (the message box), dialogs.js (dialogs).

import {
  $, api, channelLabel, el, emit, get, listeners, nameOf, notice, post, run, state, userOf,
} from "./core.js";
import { autosize, loadCommands, onComposerInput, onComposerKey, send, showSuggestions } from "./composer.js";
import { cancelDialog, openDialog, submitDialog } from "./dialogs.js";
import { addPost, closeThread, onEphemeral, onReaction, removePost, renderPosts } from "./posts.js";

window.playground = Object.freeze({
  currentUser: () => state.me,
  onEvent(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
});

// --- users, teams, channels --------------------------------------------------------------

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
  box.addEventListener("input", onComposerInput);
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
