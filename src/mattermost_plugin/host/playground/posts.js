// The message list: posts, local notes (rejected, failed), ephemeral posts, reactions,
// message attachments with their buttons and menus, and threads.

import { $, api, el, formatTime, nameOf, notice, post, get, run, state, userOf } from "./core.js";
import { PICKER, emojiOf, markdown } from "./text.js";

let localNotes = 0;

export function addLocalNote(channelId, rootId, message, kind, reason) {
  const note = {
    id: `local-${++localNotes}`, channel_id: channelId, root_id: rootId || "", message,
    user_id: state.me.id, create_at: Date.now(), _note: { kind, reason },
  };
  state.posts.set(note.id, note);
  if (channelId === state.channel?.id) state.order.push(note.id);
  renderPosts();
}

// --- posts -------------------------------------------------------------------------------

export function addPost(p) {
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

export function removePost(id) {
  state.posts.delete(id);
  state.order = state.order.filter((other) => other !== id);
  state.ephemeral = state.ephemeral.filter((p) => p.id !== id);
  renderPosts();
}

function repliesTo(rootId) {
  return state.order.filter((id) => state.posts.get(id)?.root_id === rootId).length;
}

export function renderPosts() {
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

export function onReaction(reaction, added) {
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

export function closeThread() {
  state.thread = null;
  $("#thread").hidden = true;
}

function renderThread() {
  const posts = [...state.posts.values()]
    .filter((p) => p.id === state.thread || p.root_id === state.thread)
    .sort((a, b) => a.create_at - b.create_at);
  renderList($("#thread-posts"), posts, false);
}

export function onEphemeral(p) {
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
