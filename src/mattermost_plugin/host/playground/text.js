// Message text: a small, safe part of Mattermost's Markdown, built as DOM nodes (never
// as HTML), and the emoji the page knows.

import { el } from "./core.js";

const EMOJI = {
  "+1": "👍", thumbsup: "👍", "-1": "👎", heart: "❤️", smile: "😄", laughing: "😆",
  tada: "🎉", eyes: "👀", white_check_mark: "✅", x: "❌", rocket: "🚀", wave: "👋",
  warning: "⚠️", fire: "🔥", thinking: "🤔", pray: "🙏", ok_hand: "👌", clap: "👏",
};
export const PICKER = ["+1", "heart", "smile", "tada", "eyes", "white_check_mark"];
export const emojiOf = (name) => EMOJI[name] || `:${name}:`;

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

export function markdown(text) {
  const root = el("div", { class: "markdown" });
  const parts = (text || "").split(/```[a-z]*\n?/i);
  parts.forEach((part, index) => {
    if (index % 2 === 1) root.append(el("pre", {}, el("code", {}, part.replace(/\n$/, ""))));
    else if (part) root.append(el("span", {}, inline(part)));
  });
  return root;
}
