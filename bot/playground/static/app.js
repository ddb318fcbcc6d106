// The playground page: one pane per chat, refreshed from the server's events.
"use strict";

const panes = new Map(); // pane id -> {info, root, tab, replyTo, stick, count}

async function api(path, options) {
  const response = await fetch(path, options);
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function renderFile(pane, file) {
  if (file.kind === "photo" || file.kind === "media") {
    const image = element("img");
    image.src = file.url;
    image.alt = file.name || "foto";
    image.title = "Klik untuk memperbesar";
    image.onerror = () => image.replaceWith(link(file)); // a document sent as media
    // it grew the chat: follow it, as a new message is followed (`refresh`)
    image.onload = () => { if (pane.stick || pane.root.classList.contains("active")) toBottom(pane); };
    image.onclick = () => view(file.url);
    return image;
  }
  return link(file);
}

// A photo (the supervisor's chart) large, with a download link.
function view(url) {
  const viewer = document.getElementById("viewer");
  viewer.querySelector("img").src = url;
  viewer.querySelector(".download").href = url + (url.includes("?") ? "&" : "?") + "download=1";
  viewer.querySelector(".original").href = url;
  viewer.showModal();
}

function link(file) {
  const anchor = element("a", "file", `📄 ${file.name || "berkas"}`);
  anchor.href = file.url;
  anchor.target = "_blank";
  anchor.download = file.name || "";
  return anchor;
}

function renderMessage(pane, item) {
  const li = element("li", `msg ${item.from}`);
  li.dataset.kind = item.kind;
  if (item.earlier) li.classList.add("earlier");
  if (item.from === "user" && item.who && pane.info.group) li.append(element("span", "who", item.who));
  if (item.from === "bot" && pane.info.group) li.append(element("span", "who", "bot"));
  if (item.quote !== undefined) li.append(element("div", "quote", `↩ ${item.quote}`));
  for (const file of item.files || []) li.append(renderFile(pane, file));
  if (item.location) {
    const [lat, lon] = item.location;
    li.append(element("span", "map", `📍 ${lat.toFixed(5)}, ${lon.toFixed(5)}`));
  }
  if (item.text) li.append(element("div", "text", item.text));
  if (item.buttons && item.buttons.length) {
    const row = element("div", "buttons");
    for (const labels of item.buttons) {
      for (const label of labels) {
        const button = element("button", null, label);
        button.type = "button";
        button.onclick = () => act(pane, { kind: "tap", message_id: item.message_id, button: label });
        row.append(button);
      }
    }
    li.append(row);
  }
  if (item.from === "bot" && item.message_id && pane.info.replies) {
    const reply = element("button", "reply", "↩ Balas");
    reply.type = "button";
    reply.title = "Balas pesan ini";
    reply.onclick = () => replyTo(pane, item);
    li.append(reply);
  }
  return li;
}

// The next message (or file) of the pane answers `item` (Telegram's reply_to_message).
function replyTo(pane, item) {
  pane.replyTo = item ? item.message_id : null;
  const bar = pane.root.querySelector(".replying");
  bar.hidden = !item;
  bar.querySelector(".quoted").textContent = item ? `↩ Membalas: ${item.text || "lampiran"}` : "";
  if (item) pane.root.querySelector(".composer .text").focus();
}

function toBottom(pane) {
  const list = pane.root.querySelector(".messages");
  list.scrollTop = list.scrollHeight;
}

// The items of one album (Telegram's media group) shown as one message, as in the app.
function albums(items) {
  const shown = [];
  for (const item of items) {
    const last = shown[shown.length - 1];
    if (item.album && last && last.album === item.album) {
      last.files = last.files.concat(item.files || []);
      if (item.text) last.text = last.text ? `${last.text}\n${item.text}` : item.text;
    } else {
      shown.push({ ...item, files: [...(item.files || [])] });
    }
  }
  return shown;
}

// The messages of a pane; the earlier runs' ones (kept across a restart) marked off.
function renderAll(pane, items) {
  if (!items.length) return [element("li", "empty", pane.info.hint)];
  const shown = [];
  let earlier = false;
  for (const item of albums(items)) {
    if (earlier && !item.earlier) shown.push(element("li", "restarted", "— playground dimulai ulang —"));
    earlier = Boolean(item.earlier);
    shown.push(renderMessage(pane, item));
  }
  if (earlier) shown.push(element("li", "restarted", "— playground dimulai ulang —"));
  return shown;
}

async function refresh(id) {
  const pane = panes.get(id);
  if (!pane) return;
  const items = await api(`/playground/api/messages/${id}`);
  const list = pane.root.querySelector(".messages");
  list.replaceChildren(...renderAll(pane, items));
  if (pane.stick || pane.root.classList.contains("active")) toBottom(pane);
  const unseen = pane.count !== null && items.length > pane.count;
  if (unseen && !pane.root.classList.contains("shown")) pane.tab.classList.add("unread");
  pane.count = items.length;
}

function showError(pane, error) {
  let note = pane.root.querySelector(".error");
  if (!note) {
    note = element("div", "error");
    pane.root.append(note);
  }
  note.textContent = error ? String(error.message || error) : "";
}

async function act(pane, body) {
  activate(pane);
  if (pane.replyTo && body.kind === "text") body.reply_to = pane.replyTo;
  replyTo(pane, null);
  try {
    await api(`/playground/api/act/${pane.info.id}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    showError(pane, null);
  } catch (error) {
    showError(pane, error);
  }
}

async function upload(pane, file, caption) {
  activate(pane);
  const form = new FormData();
  form.append("file", file, file.name);
  if (caption) form.append("caption", caption);
  if (pane.replyTo) form.append("reply_to", String(pane.replyTo));
  replyTo(pane, null);
  try {
    await api(`/playground/api/act/${pane.info.id}`, { method: "POST", body: form });
    showError(pane, null);
  } catch (error) {
    showError(pane, error);
  }
}

function activate(pane) {
  for (const other of panes.values()) other.root.classList.toggle("active", other === pane);
}

// At phone width one pane is shown at a time; the tabs switch between them.
function show(pane) {
  for (const other of panes.values()) {
    other.root.classList.toggle("shown", other === pane);
    other.tab.classList.toggle("shown", other === pane);
    other.tab.setAttribute("aria-selected", String(other === pane));
  }
  pane.tab.classList.remove("unread");
  pane.tab.scrollIntoView({ block: "nearest", inline: "nearest" });
  toBottom(pane);
}

// The line under a pane's title that says how to start; a /command in it is a chip
// that, clicked, puts the command in the pane's box.
function renderLead(root, text) {
  const lead = root.querySelector(".lead");
  lead.hidden = !text;
  if (!text) return;
  const input = root.querySelector(".composer .text");
  for (const part of text.split(/(\/[a-z]+)/)) {
    if (!part.startsWith("/")) {
      lead.append(part);
      continue;
    }
    const chip = element("button", "command", part);
    chip.type = "button";
    chip.title = `Tulis ${part} di kotak pesan`;
    chip.onclick = () => {
      input.value = part;
      input.focus();
    };
    lead.append(chip);
  }
}

function build(info) {
  const root = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
  const tab = element("button", "tab", info.tab || info.title);
  tab.type = "button";
  tab.dataset.pane = info.id;
  tab.setAttribute("role", "tab");
  const pane = { info, root, tab, replyTo: null, stick: true, count: null };
  tab.onclick = () => show(pane);
  root.id = `pane-${info.id}`;
  root.dataset.pane = info.id;
  root.dataset.channel = info.channel;
  root.querySelector(".title").textContent = info.title;
  root.querySelector(".person").textContent = `sebagai ${info.person}`;
  renderLead(root, info.lead);
  root.addEventListener("click", () => activate(pane));
  const list = root.querySelector(".messages");
  list.addEventListener("scroll", () => {
    pane.stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  });
  root.querySelector(".replying .cancel").onclick = () => replyTo(pane, null);
  const form = root.querySelector(".composer");
  const input = root.querySelector(".text");
  form.onsubmit = (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    act(pane, { kind: "text", text });
  };
  root.querySelector(".locate").onclick = () => {
    const answer = prompt("Lokasi (lintang, bujur):", "-6.2000, 106.8166");
    if (!answer) return;
    const [lat, lon] = answer.split(",").map((part) => Number(part.trim()));
    if (Number.isFinite(lat) && Number.isFinite(lon)) act(pane, { kind: "location", latitude: lat, longitude: lon });
    else showError(pane, "Tulis dua angka: lintang, bujur");
  };
  const picker = root.querySelector(".file");
  picker.onchange = () => {
    const file = picker.files[0];
    picker.value = "";
    if (file) {
      const caption = input.value.trim();
      input.value = "";
      upload(pane, file, caption);
    }
  };
  panes.set(info.id, pane);
  return root;
}

async function reset() {
  const question = "Mulai ulang? Semua pengaduan, berkas dan riwayat chat playground dihapus.";
  if (!confirm(question)) return;
  try {
    await api("/playground/api/reset", { method: "POST" });
  } finally {
    for (const pane of panes.values()) {
      pane.count = 0;
      replyTo(pane, null);
    }
    await Promise.all([...panes.keys()].map(refresh));
  }
}

async function start() {
  const infos = await api("/playground/api/panes");
  document.getElementById("panes").replaceChildren(...infos.map(build));
  document.getElementById("tabs").replaceChildren(...[...panes.values()].map((pane) => pane.tab));
  show(panes.values().next().value);
  const viewer = document.getElementById("viewer");
  viewer.querySelector(".close").onclick = () => viewer.close();
  viewer.onclick = (event) => { if (event.target === viewer) viewer.close(); }; // the backdrop
  document.getElementById("reset").onclick = reset;
  await Promise.all(infos.map((info) => refresh(info.id)));
  const events = new EventSource("/playground/api/events");
  const pending = new Set();
  events.onmessage = (event) => {
    const { pane } = JSON.parse(event.data);
    if (pending.has(pane)) return;
    pending.add(pane);
    setTimeout(() => { pending.delete(pane); refresh(pane); }, 50); // one fetch per burst
  };
  events.onerror = () => infos.forEach((info) => refresh(info.id)); // reconnects by itself
}

start();
