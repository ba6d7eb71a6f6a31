// The search page: asks the Pagefind index (loaded only here, and only the chunks a query needs)
// and lists the matching items, each linking to its anchor in its issue.
const form = document.querySelector(".search-form");
const input = document.getElementById("search-query");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const PAGE_SIZE = 10; // issues per batch of results
const ITEMS_PER_ISSUE = 3;

let engine = null; // a promise of the loaded index
let pending = [];
let latest = 0;
let more = null;

// The index comes in shards (blocks of issues, the standalone pages), each a bundle of its own:
// the first is loaded, the others merged into it. One promise, so two early callers load it once.
function pagefind() {
  if (!engine) engine = load();
  return engine;
}

async function load() {
  const [first, ...others] = list.dataset.bundles.split(" ");
  const loaded = await import(first + "pagefind.js");
  await loaded.options({ baseUrl: list.dataset.base });
  await Promise.all(others.map((bundle) => loaded.mergeIndex(bundle, { baseUrl: list.dataset.base })));
  return loaded;
}

// Words of the indexed text from `start` up to (not including) `end`, hits marked.
function excerpt(words, start, end, hits) {
  const first = hits.length ? hits[0] : start;
  const from = Math.max(start, first - 12);
  const to = Math.min(end, from + 32);
  const p = document.createElement("p");
  p.className = "result-excerpt";
  if (from > start) p.append("… ");
  for (let i = from; i < to; i++) {
    if (hits.includes(i)) {
      const mark = document.createElement("mark");
      mark.textContent = words[i];
      p.append(mark, " ");
    } else {
      p.append(words[i] + " ");
    }
  }
  if (to < end) p.append("…");
  return p;
}

// Split a page's matches by the element with an id before them: an item, or a section heading.
function itemsOf(data) {
  const words = data.content.split(/\s+/);
  const anchors = (data.anchors || []).filter((a) => a.id && a.element !== "h1");
  anchors.sort((a, b) => a.location - b.location);
  const groups = new Map();
  for (const loc of data.locations) {
    let index = -1;
    for (let i = 0; i < anchors.length && anchors[i].location <= loc; i++) index = i;
    if (!groups.has(index)) groups.set(index, []);
    groups.get(index).push(loc);
  }
  const items = [];
  for (const [index, hits] of groups) {
    const anchor = anchors[index];
    const start = anchor ? anchor.location : 0;
    const end = index + 1 < anchors.length ? anchors[index + 1].location : words.length;
    let title = anchor && /^h[2-6]$/.test(anchor.element) ? anchor.text : "";
    if (!title) {
      const lead = words.slice(start, Math.min(end, start + 12));
      // up to a dash, a colon or a full stop, else the first twelve words
      const stop = lead.findIndex((w) => w === "—" || w === "–" || /[:.]$/.test(w));
      const cut = stop < 0 ? lead : lead.slice(0, lead[stop].length > 1 ? stop + 1 : stop);
      title = cut.join(" ").replace(/[:.]$/, "") || lead.join(" ");
      if (stop < 0 && end > start + 12) title += " …";
    }
    const url = anchor ? `${data.url.split("#")[0]}#${anchor.id}` : data.url;
    items.push({ url, title, hits: hits.length, node: excerpt(words, start, end, hits) });
  }
  items.sort((a, b) => b.hits - a.hits);
  return items.slice(0, ITEMS_PER_ISSUE);
}

function render(data) {
  const li = document.createElement("li");
  li.className = "search-result";
  const head = document.createElement("p");
  head.className = "result-issue";
  const link = document.createElement("a");
  link.href = data.url;
  link.textContent = data.meta.title || data.url;
  head.append(link);
  if (data.meta.date) {
    const when = document.createElement("span");
    when.className = "result-date";
    when.textContent = data.meta.date;
    head.append(" ", when);
  }
  const items = document.createElement("ul");
  items.className = "result-items";
  for (const item of itemsOf(data)) {
    const entry = document.createElement("li");
    const a = document.createElement("a");
    a.href = item.url;
    a.textContent = item.title;
    entry.append(a, item.node);
    items.append(entry);
  }
  li.append(head, items);
  return li;
}

async function showMore(query) {
  const batch = pending.splice(0, PAGE_SIZE);
  const loaded = await Promise.all(batch.map((r) => r.data()));
  if (query !== latest) return;
  for (const data of loaded) list.append(render(data));
  if (pending.length) {
    if (!more) {
      more = document.createElement("button");
      more.type = "button";
      more.className = "search-more";
      more.textContent = "Show more results";
      more.addEventListener("click", () => showMore(latest));
      list.after(more);
    }
    more.hidden = false;
  } else if (more) {
    more.hidden = true;
  }
}

async function run(text) {
  const query = ++latest;
  const term = text.trim();
  list.replaceChildren();
  if (more) more.hidden = true;
  if (!term) {
    status.textContent = "Type a word or two: a tool, a topic, a site.";
    return;
  }
  status.textContent = "Searching…";
  const found = await (await pagefind()).search(term);
  if (query !== latest) return;
  pending = found.results.slice();
  const n = pending.length;
  status.textContent = n ? `${n} ${n === 1 ? "issue matches" : "issues match"} “${term}”.` : `Nothing matches “${term}”.`;
  await showMore(query);
}

function remember(text) {
  const url = new URL(location.href);
  if (text.trim()) url.searchParams.set("q", text.trim());
  else url.searchParams.delete("q");
  history.replaceState(null, "", url);
}

let timer = 0;
input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => {
    remember(input.value);
    run(input.value);
  }, 250);
});
input.addEventListener("focus", () => pagefind().then((p) => p.init()), { once: true });
form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(timer);
  remember(input.value);
  run(input.value);
});

const initial = new URLSearchParams(location.search).get("q") || "";
input.value = initial;
run(initial);
