// PayChat web: renders the server's view (GET /api/view, then every change over /api/events)
// and turns each click or Enter into one POST. The chat's words come from the server as the
// engine rendered them; a PIN typed on the keypad lives only here until it is sent.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const LINK = /https?:\/\/\S+start=\S+/g;
let view = null;
let toastsShown = null; // the newest toast id already shown (null: none rendered yet)
const pins = {}; // party -> digits typed on the keypad, never sent until OK
const phones = {}; // party -> its <section>

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function showError(message) {
  $("#error-text").textContent = message;
  $("#error").hidden = false;
}

async function call(path, data, method = "POST") {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json" },
      body: data === undefined ? undefined : JSON.stringify(data),
    });
  } catch (e) {
    showError("The server cannot be reached: is paychat web still running?");
    return null;
  }
  let answer = {};
  try { answer = await response.json(); } catch (e) { /* not JSON: said below */ }
  if (!response.ok) {
    showError(answer.error || `The server answered ${response.status}.`);
    return null;
  }
  $("#error").hidden = true;
  return answer;
}

const act = (party, action, fields = {}) => call("/api/act", { party, action, ...fields });

// -- phones --------------------------------------------------------------------------------------
function phoneFor(p) {
  if (phones[p.name]) return phones[p.name];
  const node = $("#phone-template").content.firstElementChild.cloneNode(true);
  node.dataset.party = p.name;
  node.setAttribute("aria-label", `Phone of ${p.shown}`);
  const form = $("form.send", node);
  const input = $("input", form);
  input.setAttribute("aria-label", `Message from ${p.shown}`);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    if (await act(p.name, "text", { text })) input.value = "";
    input.focus();
  });
  $("#phones").append(node);
  phones[p.name] = node;
  return node;
}

function bubble(p, m, lastBot) {
  const li = el("li", { class: `msg ${m.mine ? "mine" : "bot"}`, "data-key": m.key || "" });
  if (m.qr) li.append(el("img", { class: "qr", src: m.qr, alt: `QR code: ${m.code}` }));
  li.append(el("div", { class: "text", text: m.text }));
  if (m.code) {
    const div = el("div", { class: "buttons scan-code" });
    for (const other of view.phones.filter((o) => o.name !== p.name)) {
      div.append(el("button", {
        type: "button", text: `Scan as ${other.shown}`,
        onclick: () => act(other.name, "code", { text: m.code }),
      }));
    }
    if (div.childElementCount) li.append(div);
  }
  for (const row of m.buttons) {
    const div = el("div", { class: "buttons" });
    for (const b of row) {
      div.append(el("button", {
        type: "button", "data-button": b.id, text: b.label,
        onclick: () => act(p.name, "tap", { button: b.id, message: m.ref }),
      }));
    }
    li.append(div);
  }
  if (!m.mine) {
    for (const link of m.text.match(LINK) || []) {
      const div = el("div", { class: "buttons open-link" });
      for (const other of view.phones.filter((o) => o.name !== p.name)) {
        div.append(el("button", {
          type: "button", text: `Open link as ${other.shown}`,
          onclick: () => act(other.name, "link", { text: link }),
        }));
      }
      if (div.childElementCount) li.append(div);
    }
  }
  if (m.pin_pad && m === lastBot) li.append(keypad(p));
  const meta = el("div", { class: "meta" });
  meta.append(`${m.mine ? p.shown : "PayChat"} · ${m.at}${m.edited ? " · edited" : ""}`);
  if (m.check) meta.append(checkBadge(m.check));
  li.append(meta);
  return li;
}

function checkBadge(check) {
  const ok = check.status === "passed";
  return el("span", {
    class: `check ${ok ? "good" : "bad"}`,
    title: `step ${check.step} ${check.status}`,
    text: ` ${ok ? "✓" : "✗"} step ${check.step}: ${check.says}`,
  });
}

function keypad(p) {
  const length = view.choices.pin_length;
  const pad = el("div", { class: "keypad", role: "group", "aria-label": "PIN keypad" });
  const dots = el("div", { class: "dots", "aria-live": "polite" });
  const draw = () => {
    const n = (pins[p.name] || "").length;
    dots.textContent = "●".repeat(n) + "○".repeat(Math.max(length - n, 0));
    dots.setAttribute("aria-label", `${n} of ${length} digits entered`);
  };
  const press = (d) => { pins[p.name] = ((pins[p.name] || "") + d).slice(0, 12); draw(); };
  const grid = el("div", { class: "keys" });
  for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) {
    grid.append(el("button", { type: "button", text: d, "aria-label": `digit ${d}`, onclick: () => press(d) }));
  }
  grid.append(el("button", {
    type: "button", text: "⌫", "aria-label": "delete the last digit",
    onclick: () => { pins[p.name] = (pins[p.name] || "").slice(0, -1); draw(); },
  }));
  grid.append(el("button", { type: "button", text: "0", "aria-label": "digit 0", onclick: () => press("0") }));
  grid.append(el("button", {
    type: "button", text: "OK", class: "ok", "aria-label": "enter the PIN",
    onclick: async () => {
      const pin = pins[p.name] || "";
      pins[p.name] = "";
      draw();
      if (pin) await act(p.name, "pin", { text: pin });
    },
  }));
  pad.addEventListener("keydown", (e) => { // digits, Backspace and Enter, once it has focus
    if (/^[0-9]$/.test(e.key)) press(e.key);
    else if (e.key === "Backspace") pins[p.name] = (pins[p.name] || "").slice(0, -1);
    else return;
    e.preventDefault();
    draw();
  });
  const finger = el("button", {
    type: "button", class: "finger", text: "Approve with fingerprint",
    onclick: () => act(p.name, "biometric", { text: "approve" }),
  });
  pad.append(dots, grid, finger);
  draw();
  return pad;
}

function renderPhone(p) {
  const node = phoneFor(p);
  $(".who", node).textContent = p.shown;
  $(".num", node).textContent = `${p.phone} · ${p.language}`;
  const chat = $(".chat", node);
  const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
  const bots = p.chat.filter((m) => !m.mine);
  const lastBot = bots[bots.length - 1];
  chat.replaceChildren(...p.chat.map((m) => bubble(p, m, lastBot)));
  if (atBottom) chat.scrollTop = chat.scrollHeight;
  const reply = $(".reply", node);
  reply.replaceChildren();
  if (lastBot && lastBot.ask_contact) {
    reply.append(el("button", {
      type: "button", class: "contact", text: lastBot.ask_contact,
      onclick: () => act(p.name, "contact"),
    }));
  }
  $(".sms .count", node).textContent = p.sms.length;
  $(".sms ol", node).replaceChildren(...p.sms.map((s) => {
    const li = el("li", {}, el("div", { class: "text", text: s.text }));
    const meta = el("div", { class: "meta", text: s.at });
    if (s.check) meta.append(checkBadge(s.check));
    li.append(meta);
    return li;
  }));
}

function renderToasts() {
  const newest = view.toasts.length ? view.toasts[view.toasts.length - 1].id : -1;
  if (toastsShown !== null) {
    for (const t of view.toasts.filter((t) => t.id > toastsShown)) {
      const box = $(".toast", phones[t.party]);
      if (!box) continue;
      box.textContent = t.text;
      box.hidden = false;
      clearTimeout(box.timer);
      box.timer = setTimeout(() => { box.hidden = true; }, 6000);
    }
  }
  toastsShown = Math.max(newest, toastsShown ?? -1);
}

// -- the world around the chat -------------------------------------------------------------------
function rows(table, items, cells) {
  $(`#${table} tbody`).replaceChildren(...items.map((item) =>
    el("tr", {}, ...cells(item).map((c) => el("td", { text: c })))));
}

function options(select, values, label = (v) => v) {
  if (select.dataset.filled) return;
  select.replaceChildren(...values.map((v) => el("option", { value: v.code ?? v, text: label(v) })));
  select.dataset.filled = "1";
}

function renderWorld() {
  $("#clock").textContent = view.clock;
  $("#db").textContent = view.db;
  const c = view.choices;
  options($("#add-country"), c.markets, (m) => `${m.name} (${m.code})`);
  options($("#add-language"), c.languages);
  options($("#fault-call"), c.calls);
  options($("#fault-outcome"), c.outcomes);
  if (!$("#fault-codes").childElementCount) {
    $("#fault-codes").replaceChildren(...c.codes.map((v) => el("option", { value: v })));
  }
  const s = view.state;
  const ledger = $("#ledger");
  ledger.textContent = s.ledger;
  ledger.className = s.ledger === "balanced" ? "good" : "bad";
  rows("state-parties", s.parties, (p) => [p.name, p.role, p.balance, p.pin]);
  rows("state-requests", s.requests, (r) => [r.id, r.status, r.amount, r.expires]);
  rows("state-payments", s.payments, (p) =>
    [p.id, p.status + (p.reason ? ` (${p.reason})` : ""), p.amount, p.method, p.refunded]);
  rows("state-refunds", s.refunds, (r) =>
    [r.id, r.payment, r.amount, r.status, r.at, `${r.business} → ${r.customer}`]);
  for (const table of ["requests", "payments", "refunds"]) { // never a silent cut
    const cut = s.hidden.filter((h) => h.table === table);
    const note = $(`#hidden-${table}`);
    note.hidden = !cut.length;
    note.textContent = cut.map((h) =>
      `${h.party}: showing the newest ${h.shown} of ${h.total} ${table}`).join("; ");
  }
  $("#faults").replaceChildren(...view.faults.map((f) =>
    el("li", { text: `${f.call}: ${f.outcome}${f.code ? " " + f.code : ""} ×${f.times}` })));
  const sc = view.scenario;
  $("#scenario").hidden = !sc;
  if (sc) {
    $("#scenario-name").textContent = `${sc.name} — ${sc.next} of ${sc.steps.length} steps played`;
    $("#steps").replaceChildren(...sc.steps.map((st) => {
      const mark = { passed: "✓", failed: "✗", pending: "·" }[st.status];
      const li = el("li", { class: st.status, "data-status": st.status },
        el("span", { class: "mark", text: mark, "aria-label": st.status }),
        el("code", { text: ` line ${st.line}: ${st.source}` }));
      if (st.problem) li.append(el("pre", { class: "problem", text: st.problem }));
      return li;
    }));
    const done = sc.next >= sc.steps.length;
    $("#step").disabled = done;
    $("#all").disabled = done;
    $("#leftover").hidden = !sc.leftover;
    $("#leftover").textContent = sc.leftover ? `Injected faults that never fired: ${sc.leftover}` : "";
  }
}

function render(next) {
  view = next;
  $("#no-phones").hidden = view.phones.length > 0;
  const names = new Set(view.phones.map((p) => p.name));
  for (const name of Object.keys(phones)) {
    if (!names.has(name)) { phones[name].remove(); delete phones[name]; }
  }
  view.phones.forEach(renderPhone);
  renderToasts();
  renderWorld();
  document.body.dataset.version = view.version;
}

// The session so far as a *.convo.yaml, saved by the browser (paychat test replays it).
async function exportScenario() {
  const response = await fetch("/api/export");
  if (!response.ok) {
    let answer = {};
    try { answer = await response.json(); } catch (e) { /* said below */ }
    showError(answer.error || `The server answered ${response.status}.`);
    return;
  }
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "session.convo.yaml" });
  document.body.append(link);
  link.click();
  link.remove();
  $("#error").hidden = true;
}

// -- wiring --------------------------------------------------------------------------------------
function formData(form) { return Object.fromEntries(new FormData(form).entries()); }

function wire() {
  $("#error-close").addEventListener("click", () => { $("#error").hidden = true; });
  for (const b of document.querySelectorAll("[data-advance]")) {
    b.addEventListener("click", () => call("/api/advance", { by: b.dataset.advance }));
  }
  $("#advance-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await call("/api/advance", formData(e.target))) e.target.reset();
  });
  $("#add-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await call("/api/parties", formData(e.target))) {
      e.target.elements.name.value = "";
      e.target.elements.phone.value = "";
    }
  });
  $("#scenario-form").addEventListener("submit", (e) => {
    e.preventDefault();
    call("/api/scenario", formData(e.target));
  });
  $("#step").addEventListener("click", () => call("/api/scenario/step"));
  $("#all").addEventListener("click", () => call("/api/scenario/all"));
  for (const b of document.querySelectorAll("[data-fault]")) {
    b.addEventListener("click", () => {
      const [faultCall, outcome, code = ""] = b.dataset.fault.split(" ");
      call("/api/faults", { call: faultCall, outcome, code, times: 1 });
    });
  }
  $("#fault-form").addEventListener("submit", (e) => {
    e.preventDefault();
    call("/api/faults", formData(e.target));
  });
  $("#export").addEventListener("click", exportScenario);
  fetch("/api/scenarios").then((r) => r.json()).then((found) => {
    $("#scenario-files").replaceChildren(...found.files.map((f) => el("option", { value: f })));
  }).catch(() => {});
  const events = new EventSource("/api/events");
  events.onopen = () => { $("#live").textContent = "live"; };
  events.onerror = () => { $("#live").textContent = "reconnecting…"; };
  events.onmessage = (e) => render(JSON.parse(e.data));
}

document.addEventListener("DOMContentLoaded", wire);
