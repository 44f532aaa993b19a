// Interactive dialogs: rendered from the plugin's OpenDialogRequest, checked as the
// webapp checks them, submitted with /api/v4/actions/dialogs/submit.

import { $, channelLabel, el, post, state } from "./core.js";
import { markdown } from "./text.js";

export function openDialog(request) {
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

export async function submitDialog(cancelled) {
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
export function cancelDialog() {
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
