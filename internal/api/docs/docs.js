// Renders the OpenAPI document of this server (/api/v1/openapi.json): operations by tag, with
// their parameters, bodies, answers and error codes, and the named schemas. No library, nothing
// loaded from elsewhere.
"use strict";

(function () {
  const METHODS = ["get", "put", "post", "patch", "delete"];
  let doc;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function escape(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // markdown renders the little Markdown the document uses: paragraphs, **bold**, `code`.
  function markdown(text) {
    const box = el("div", "md");
    for (const para of String(text || "").split(/\n\n+/)) {
      if (para.trim()) box.appendChild(inline(para, "p"));
    }
    return box;
  }

  // inline renders one line of that Markdown into a new element (escaped first).
  function inline(text, tag, cls) {
    const e = el(tag || "span", cls);
    e.innerHTML = escape(text || "")
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
    return e;
  }

  function refName(ref) {
    return ref.replace("#/components/schemas/", "").replace("#/components/responses/", "");
  }

  function resolveResponse(r) {
    return r && r.$ref ? doc.components.responses[refName(r.$ref)] : r;
  }

  function anchor(id) {
    return id.replace(/[^A-Za-z0-9_-]/g, "-");
  }

  // typeOf is a short description of a schema's type.
  function typeOf(s) {
    if (!s) return "any";
    if (s.$ref) return refName(s.$ref);
    if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
    if (s.allOf) return s.allOf.map(typeOf).join(" & ");
    let t = Array.isArray(s.type) ? s.type.join(" | ") : s.type || (s.const !== undefined ? "const" : "any");
    if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) t += " of " + typeOf(s.items);
    if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object" && !s.properties) {
      t = "map of " + typeOf(s.additionalProperties);
    }
    if (s.format) t += " (" + s.format + ")";
    return t;
  }

  // typeNode is typeOf with the named schemas as links.
  function typeNode(s) {
    const span = el("span", "type");
    if (s && s.$ref) {
      const a = el("a", "", refName(s.$ref));
      a.href = "#schema-" + anchor(refName(s.$ref));
      span.appendChild(a);
    } else if (s && (s.anyOf || s.allOf)) {
      (s.anyOf || s.allOf).forEach((part, i) => {
        if (i > 0) span.appendChild(document.createTextNode(s.anyOf ? " | " : " & "));
        span.appendChild(typeNode(part));
      });
    } else if (s && s.type === "array" && s.items) {
      span.appendChild(document.createTextNode("array of "));
      span.appendChild(typeNode(s.items));
    } else if (s && s.type === "object" && !s.properties && s.additionalProperties && typeof s.additionalProperties === "object") {
      span.appendChild(document.createTextNode("map of "));
      span.appendChild(typeNode(s.additionalProperties));
    } else {
      span.textContent = typeOf(s);
    }
    return span;
  }

  // schemaTree lists an object's properties (and those of its parts), one level of nesting
  // for inline objects; named schemas are links.
  function schemaTree(s, depth) {
    const ul = el("ul", "schema");
    if (!s || depth > 4) return ul;
    if (s.allOf || s.anyOf) {
      for (const part of s.allOf || s.anyOf) {
        const li = el("li");
        li.appendChild(el("span", "note", s.allOf ? "all of: " : "one of: "));
        li.appendChild(typeNode(part));
        extras(li, part);
        if (!part.$ref && part.properties) li.appendChild(schemaTree(part, depth + 1));
        ul.appendChild(li);
      }
      return ul;
    }
    const props = s.properties || {};
    const required = new Set(s.required || []);
    for (const name of Object.keys(props).sort()) {
      const p = props[name];
      const li = el("li");
      li.appendChild(el("span", "name", name));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(typeNode(p));
      if (required.has(name)) li.appendChild(el("span", "req", " required"));
      extras(li, p);
      const inner = p && (p.type === "object" || (Array.isArray(p.type) && p.type.includes("object"))) ? p :
        p && p.items && p.items.properties ? p.items : null;
      if (inner && inner.properties) li.appendChild(schemaTree(inner, depth + 1));
      ul.appendChild(li);
    }
    return ul;
  }

  function extras(li, p) {
    if (!p) return;
    if (p.enum) li.appendChild(el("span", "note", " one of: " + p.enum.map((v) => JSON.stringify(v)).join(", ")));
    if (p.const !== undefined) li.appendChild(el("span", "note", " = " + JSON.stringify(p.const)));
    if (p.properties && p.properties.code && p.properties.code.enum) {
      li.appendChild(el("span", "note", " code: " + p.properties.code.enum.join(", ")));
    }
    if (p.description) li.appendChild(inline(" — " + p.description, "span", "note"));
  }

  function contentBlock(content) {
    const box = el("div");
    for (const [type, media] of Object.entries(content || {})) {
      const line = el("div", "mono", type + ": ");
      line.appendChild(typeNode(media.schema));
      box.appendChild(line);
      if (media.schema && !media.schema.$ref) box.appendChild(schemaTree(media.schema, 0));
    }
    return box;
  }

  function security(op) {
    if (!op.security || !op.security.length) return "no authentication";
    return op.security.map((req) => Object.keys(req).join(" + ") || "none").join(" or ");
  }

  function operation(path, method, op) {
    const box = el("section", "op");
    box.id = "op-" + anchor(op.operationId);
    const h = el("h3");
    h.appendChild(el("span", "method " + method, method.toUpperCase()));
    h.appendChild(el("span", "path", path));
    h.appendChild(el("span", "summary", op.summary || ""));
    box.appendChild(h);
    box.appendChild(el("div", "auth", "Auth: " + security(op)));
    if (op.description) box.appendChild(markdown(op.description));

    const params = op.parameters || [];
    if (params.length) {
      box.appendChild(el("h4", "", "Parameters"));
      const t = el("table");
      t.innerHTML = "<tr><th>name</th><th>in</th><th>type</th><th>description</th></tr>";
      for (const p of params) {
        const tr = el("tr");
        const name = el("td", "name", p.name);
        if (p.required) name.appendChild(el("span", "req", " required"));
        tr.appendChild(name);
        tr.appendChild(el("td", "", p.in));
        const type = el("td");
        type.appendChild(typeNode(p.schema));
        extras(type, { enum: p.schema && p.schema.enum });
        tr.appendChild(type);
        tr.appendChild(inline(p.description, "td"));
        t.appendChild(tr);
      }
      box.appendChild(t);
    }
    if (op.requestBody) {
      box.appendChild(el("h4", "", "Request body" + (op.requestBody.required ? "" : " (optional)")));
      if (op.requestBody.description) box.appendChild(inline(op.requestBody.description, "p", "note"));
      box.appendChild(contentBlock(op.requestBody.content));
    }
    box.appendChild(el("h4", "", "Answers"));
    for (const code of Object.keys(op.responses).sort()) {
      const r = resolveResponse(op.responses[code]) || {};
      const div = el("div");
      div.appendChild(el("span", "status " + (code < "400" ? "ok" : "err"), code + " "));
      div.appendChild(inline(r.description));
      box.appendChild(div);
      if (code < "400" || !plainError(r)) box.appendChild(contentBlock(r.content));
    }
    box.dataset.search = [method, path, op.summary, op.description, op.tags.join(" "), errorCodes(op)].join(" ").toLowerCase();
    return box;
  }

  // plainError: an error answer that is only {"error":{…}}, whose description lists its codes.
  function plainError(r) {
    const media = r.content && (r.content["application/json"] || Object.values(r.content)[0]);
    const s = media && media.schema;
    if (!s) return true;
    if (s.allOf) return true; // Twilio's error shape
    return !!s.properties && Object.keys(s.properties).length === 1 && !!s.properties.error;
  }

  function errorCodes(op) {
    return Object.values(op.responses).map((r) => (resolveResponse(r) || {}).description || "").join(" ");
  }

  function render() {
    const main = document.getElementById("doc");
    const toc = document.getElementById("toc");
    main.textContent = "";
    main.appendChild(el("p", "note", doc.info.title + " · version " + doc.info.version + " · OpenAPI " + doc.openapi));
    main.appendChild(markdown(doc.info.description));

    const byTag = new Map(doc.tags.map((t) => [t.name, []]));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const tag = op.tags[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([path, method, op]);
      }
    }
    const tagInfo = new Map(doc.tags.map((t) => [t.name, t.description]));
    for (const [tag, ops] of byTag) {
      if (!ops.length) continue;
      const sec = el("section", "tag");
      sec.id = "tag-" + anchor(tag);
      sec.appendChild(el("h2", "", tag));
      if (tagInfo.get(tag)) sec.appendChild(markdown(tagInfo.get(tag)));
      toc.appendChild(el("h2", "", tag));
      for (const [path, method, op] of ops) {
        const box = operation(path, method, op);
        sec.appendChild(box);
        const a = el("a", "", method.toUpperCase() + " " + path);
        a.href = "#" + box.id;
        a.title = op.summary || "";
        a.dataset.op = box.id;
        toc.appendChild(a);
      }
      main.appendChild(sec);
    }

    const schemas = el("section", "tag");
    schemas.id = "schemas";
    schemas.appendChild(el("h2", "", "Schemas"));
    for (const name of Object.keys(doc.components.schemas).sort()) {
      const s = doc.components.schemas[name];
      const box = el("section", "op");
      box.id = "schema-" + anchor(name);
      box.appendChild(el("h3", "", name));
      if (s.description) box.appendChild(markdown(s.description));
      box.appendChild(schemaTree(s, 0));
      schemas.appendChild(box);
    }
    main.appendChild(schemas);
    toc.appendChild(el("h2", "", "Schemas"));
    const all = el("a", "", "All schemas");
    all.href = "#schemas";
    toc.appendChild(all);
  }

  function filter(text) {
    const q = text.trim().toLowerCase();
    for (const box of document.querySelectorAll("section.op[id^='op-']")) {
      box.classList.toggle("hidden", q !== "" && !box.dataset.search.includes(q));
    }
    for (const a of document.querySelectorAll("nav a[data-op]")) {
      a.classList.toggle("hidden", document.getElementById(a.dataset.op).classList.contains("hidden"));
    }
    for (const sec of document.querySelectorAll("section.tag[id^='tag-']")) {
      sec.classList.toggle("hidden", !sec.querySelector("section.op:not(.hidden)"));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    fetch("/api/v1/openapi.json")
      .then((r) => {
        if (!r.ok) throw new Error("GET /api/v1/openapi.json answered " + r.status);
        return r.json();
      })
      .then((d) => {
        doc = d;
        render();
        if (location.hash) {
          const target = document.getElementById(location.hash.slice(1));
          if (target) target.scrollIntoView();
        }
      })
      .catch((e) => {
        document.getElementById("status").textContent = "The document could not be loaded: " + e.message;
      });
    document.getElementById("filter").addEventListener("input", (e) => filter(e.target.value));
  });
})();
