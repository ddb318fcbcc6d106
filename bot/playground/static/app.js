// The playground page: one pane per chat, refreshed from the server's events.
"use strict";

const panes = new Map(); // pane id -> {info, root}

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

function renderFile(file) {
  if (file.kind === "photo" || file.kind === "media") {
    const image = element("img");
    image.src = file.url;
    image.alt = file.name || "foto";
    image.onerror = () => image.replaceWith(link(file)); // a document sent as media
    return image;
  }
  return link(file);
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
  if (item.from === "user" && item.who && pane.info.group) li.append(element("span", "who", item.who));
  if (item.from === "bot" && pane.info.group) li.append(element("span", "who", "bot"));
  for (const file of item.files || []) li.append(renderFile(file));
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
  return li;
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

async function refresh(id) {
  const pane = panes.get(id);
  if (!pane) return;
  const items = await api(`/playground/api/messages/${id}`);
  const list = pane.root.querySelector(".messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...albums(items).map((item) => renderMessage(pane, item)));
  if (atBottom || pane.root.classList.contains("active")) list.scrollTop = list.scrollHeight;
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

function build(info) {
  const root = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
  const pane = { info, root };
  root.id = `pane-${info.id}`;
  root.dataset.pane = info.id;
  root.dataset.channel = info.channel;
  root.querySelector(".title").textContent = info.title;
  root.querySelector(".person").textContent = `sebagai ${info.person}`;
  root.addEventListener("click", () => activate(pane));
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

async function start() {
  const infos = await api("/playground/api/panes");
  document.getElementById("panes").replaceChildren(...infos.map(build));
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
