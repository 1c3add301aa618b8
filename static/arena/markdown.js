/* Arena Hub — model answers and prompts as sanitised Markdown.
 *
 * Needs static/vendor/{markdown-it,dompurify,highlightjs,katex}, loaded before it.
 * Everything a model writes is untrusted: markdown-it parses it with raw HTML off,
 * and its output goes through a private DOMPurify instance with an allowlist before
 * it reaches the page. Highlighting and math are only decoration: without those
 * libraries code and TeX stay plain text; without markdown-it or DOMPurify every
 * text is shown as plain text.
 *
 *   ArenaMarkdown.render(text) -> DocumentFragment
 *   ArenaMarkdown.renderInto(element, text)   now (a side that ended, a prompt)
 *   ArenaMarkdown.renderSoon(element, text[, after])   throttled, for text that is still streaming
 */
(() => {
  "use strict";

  // Re-parsing the whole answer is what keeps half-written Markdown right as it grows; this caps its cost.
  const STREAM_INTERVAL_MS = 100;
  const LINK_PROTOCOL = /^(?:https?|mailto):/i;
  // Only what markdown-it, highlight.js and KaTeX emit (highlight.js 11 adds sub-scopes such as
  // "function_"), so that a model cannot borrow the site's own classes.
  const CLASS_TOKEN = /^(?:hljs(?:-[\w-]+)?|language-[\w+#.-]+|katex(?:-error)?|md-[\w-]+|[a-z]+_+)$/;

  const HTML_TAGS = [
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
    "pre", "code", "span", "div", "em", "strong", "s", "a",
    "table", "thead", "tbody", "tr", "th", "td",
  ];
  // What KaTeX's MathML output uses. `semantics` and `annotation` are off in DOMPurify's defaults;
  // without them the TeX source in <annotation> would be kept as visible text.
  const MATHML_TAGS = [
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
    "mtable", "mtr", "mtd", "mlabeledtr", "mstyle", "mpadded", "mphantom", "menclose", "merror",
  ];
  // No style, no id/name (DOM clobbering), no event handlers, no colours: layout comes from our CSS.
  const ATTRS = [
    "href", "title", "class", "start",
    "display", "displaystyle", "scriptlevel", "mathvariant", "mathsize", "stretchy", "fence",
    "separator", "lspace", "rspace", "accent", "accentunder", "largeop", "movablelimits", "symmetric",
    "minsize", "maxsize", "width", "height", "depth", "voffset", "linethickness", "notation",
    "encoding", "columnalign", "columnspacing", "columnlines", "rowalign", "rowspacing", "rowlines", "frame",
  ];
  const PURIFY_CONFIG = {
    ALLOWED_TAGS: [...HTML_TAGS, ...MATHML_TAGS],
    ALLOWED_ATTR: ATTRS,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    KEEP_CONTENT: true,
    // A DOM straight from the sanitiser: no serialise-and-reparse step that could turn safe markup unsafe.
    RETURN_DOM_FRAGMENT: true,
  };

  function textFragment(text) {
    const frag = document.createDocumentFragment();
    if (text) {
      const p = document.createElement("p");
      p.className = "md-plain";
      p.textContent = text;
      frag.append(p);
    }
    return frag;
  }

  const markdownit = window.markdownit;
  const createPurify = window.DOMPurify;
  const ready = typeof markdownit === "function" && typeof createPurify === "function";
  let md = null;
  let purify = null;

  if (ready) {
    const escapeHtml = (s) => md.utils.escapeHtml(s);

    function highlight(code, lang) {
      const hljs = window.hljs;
      const name = (lang || "").toLowerCase();
      // No auto-detection: guessing again on every re-render makes colours jump while an answer streams.
      if (!hljs || !name || !hljs.getLanguage(name)) return "";
      try {
        return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
      } catch (_) {
        return "";
      }
    }

    function tex(source, display) {
      const katex = window.katex;
      if (katex) {
        try {
          return katex.renderToString(source, {
            displayMode: display,
            output: "mathml", // no inline styles, no KaTeX CSS or fonts
            throwOnError: false,
            trust: false, // no \href, \url, \includegraphics, \html…
            strict: "ignore",
            maxExpand: 500,
            maxSize: 20,
          });
        } catch (_) { /* below: the source as code */ }
      }
      return `<code class="md-math-source">${escapeHtml(source)}</code>`;
    }

    // Answers are chat, not documents: a single newline is a line break, as the model meant it.
    md = markdownit({ html: false, linkify: true, typographer: false, breaks: true, highlight });
    // Only web and mail links; relative ones would point into this site, anything else may run code.
    md.validateLink = (url) => LINK_PROTOCOL.test(String(url).trim());
    mathPlugin(md, tex);

    // Table alignment arrives as style="text-align:…", which the sanitiser drops; a class keeps it.
    md.core.ruler.push("md_align_classes", (state) => {
      for (const t of state.tokens) {
        if ((t.type !== "th_open" && t.type !== "td_open") || !t.attrs) continue;
        const style = t.attrGet("style") || "";
        const m = style.match(/text-align:\s*(left|right|center)/);
        t.attrs = t.attrs.filter(([name]) => name !== "style");
        if (m) t.attrJoin("class", "md-align-" + m[1]);
      }
    });

    // No <img> from model output: an image would be fetched from wherever the model points, which tells
    // that server who is voting (and could carry a model's signature). It becomes a link to the image.
    md.renderer.rules.image = (tokens, idx, options, env, self) => {
      const t = tokens[idx];
      const alt = self.renderInlineAsText(t.children || [], options, env).trim();
      const src = t.attrGet("src") || "";
      return `<a class="md-image-link" href="${escapeHtml(src)}">Image: ${escapeHtml(alt || src)}</a>`;
    };

    purify = createPurify(window); // our own instance: the hooks below stay out of anyone else's sanitising
    purify.addHook("uponSanitizeAttribute", (node, data) => {
      if (data.attrName === "class") {
        const kept = data.attrValue.split(/\s+/).filter((c) => CLASS_TOKEN.test(c));
        if (kept.length) data.attrValue = kept.join(" ");
        else data.keepAttr = false;
      } else if (data.attrName === "href" && node.nodeName !== "A") {
        data.keepAttr = false;
      }
    });
    // Links are checked here rather than with ALLOWED_URI_REGEXP, which DOMPurify also applies to
    // plain attribute values and would strip MathML's display="block".
    purify.addHook("afterSanitizeAttributes", (node) => {
      if (node.nodeName !== "A") return;
      if (!LINK_PROTOCOL.test(node.getAttribute("href") || "")) {
        node.removeAttribute("href");
        return;
      }
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    });
  }

  /** Inline `$…$`, `\(…\)`, `$$…$$`, `\[…\]` and display blocks of `$$` / `\[` lines, rendered by `tex`.
   * An unclosed delimiter is left as text, so an answer that is still streaming never half-renders TeX. */
  function mathPlugin(md, tex) {
    const isSpace = (c) => c === undefined || /\s/.test(c);

    function findClose(src, from, close) {
      for (let i = src.indexOf(close, from); i !== -1; i = src.indexOf(close, i + 1)) {
        if (src[i - 1] !== "\\") return i;
      }
      return -1;
    }

    function inline(state, silent) {
      const src = state.src;
      const pos = state.pos;
      const c = src[pos];
      if (c !== "$" && c !== "\\") return false;
      let open;
      let close;
      let display;
      if (c === "\\") {
        const n = src[pos + 1];
        if (n !== "(" && n !== "[") return false;
        open = 2;
        close = n === "(" ? "\\)" : "\\]";
        display = n === "[";
      } else if (src[pos + 1] === "$") {
        open = 2;
        close = "$$";
        display = true;
      } else {
        // Pandoc's rule, so that prices ("$5 and $10") stay text: no space inside the dollars,
        // and no digit right after the closing one.
        if (isSpace(src[pos + 1])) return false;
        let end = -1;
        for (let i = src.indexOf("$", pos + 1); i !== -1; i = src.indexOf("$", i + 1)) {
          if (src[i - 1] === "\\" || isSpace(src[i - 1])) continue;
          if (/\d/.test(src[i + 1] || "")) continue;
          end = i;
          break;
        }
        if (end === -1) return false;
        if (!silent) {
          const token = state.push("math_inline", "math", 0);
          token.markup = "$";
          token.content = src.slice(pos + 1, end);
        }
        state.pos = end + 1;
        return true;
      }
      const end = findClose(src, pos + open, close);
      if (end === -1 || !src.slice(pos + open, end).trim()) return false;
      if (!silent) {
        const token = state.push(display ? "math_inline_display" : "math_inline", "math", 0);
        token.markup = src.slice(pos, pos + open);
        token.content = src.slice(pos + open, end);
      }
      state.pos = end + close.length;
      return true;
    }

    function block(state, startLine, endLine, silent) {
      let pos = state.bMarks[startLine] + state.tShift[startLine];
      let max = state.eMarks[startLine];
      if (state.sCount[startLine] - state.blkIndent >= 4) return false;
      const head = state.src.slice(pos, pos + 2);
      if (head !== "$$" && head !== "\\[") return false;
      const close = head === "$$" ? "$$" : "\\]";
      pos += 2;
      const first = state.src.slice(pos, max);
      let content;
      let next = startLine;
      if (first.trim().endsWith(close) && first.trim().length >= close.length) {
        // `$$ … $$` on one line; anything after the closing delimiter makes it a paragraph instead.
        const trimmed = first.trim();
        content = trimmed.slice(0, trimmed.length - close.length);
        if (!content.trim() || content.includes(close)) return false;
      } else {
        // `$$a$$ and $$b$$` on one line is inline math in a paragraph, not the start of a block.
        if (first.includes(close)) return false;
        const lines = [first];
        let found = false;
        while (++next < endLine) {
          pos = state.bMarks[next] + state.tShift[next];
          max = state.eMarks[next];
          if (pos < max && state.sCount[next] < state.blkIndent) break; // the block around it ended
          const line = state.src.slice(pos, max).trim();
          if (line.endsWith(close)) {
            lines.push(line.slice(0, line.length - close.length));
            found = true;
            break;
          }
          lines.push(state.src.slice(pos, max));
        }
        if (!found) return false;
        content = lines.join("\n");
      }
      if (silent) return true;
      const token = state.push("math_block", "math", 0);
      token.block = true;
      token.content = content;
      token.markup = head;
      token.map = [startLine, next + 1];
      state.line = next + 1;
      return true;
    }

    // Before `escape`, which would turn `\(` into a bare "(".
    md.inline.ruler.before("escape", "math_inline", inline);
    md.block.ruler.before("fence", "math_block", block, { alt: ["paragraph", "reference", "blockquote", "list"] });
    md.renderer.rules.math_inline = (tokens, idx) => tex(tokens[idx].content, false);
    md.renderer.rules.math_inline_display = (tokens, idx) => tex(tokens[idx].content, true);
    md.renderer.rules.math_block = (tokens, idx) => `<div class="md-math-display">${tex(tokens[idx].content, true)}</div>\n`;
  }

  function render(text) {
    const source = typeof text === "string" ? text : String(text == null ? "" : text);
    if (!ready) return textFragment(source);
    try {
      const frag = purify.sanitize(md.render(source), PURIFY_CONFIG);
      // The newlines markdown-it puts between blocks show nothing, but would count as content.
      for (const node of Array.from(frag.childNodes)) {
        if (node.nodeType === Node.TEXT_NODE && !node.data.trim()) node.remove();
      }
      return frag;
    } catch (_) {
      return textFragment(source);
    }
  }

  const pending = new WeakMap(); // element -> { text, timer, last }

  /** Replaces the element's content, keeping the leading blocks that did not change: text selected in
   * them stays selected while the answer grows, and screen readers are not handed them again. */
  function renderInto(el, text) {
    const state = pending.get(el);
    if (state) {
      window.clearTimeout(state.timer);
      state.timer = 0;
      state.last = Date.now();
    }
    const next = Array.from(render(text).childNodes);
    const old = el.childNodes;
    let same = 0;
    while (same < next.length && same < old.length && old[same].isEqualNode(next[same])) same++;
    while (el.childNodes.length > same) el.lastChild.remove();
    for (let i = same; i < next.length; i++) el.appendChild(next[i]);
    if (ready) el.classList.add("md");
  }

  /** `after` runs once the text is on the page (to keep a pane scrolled to its end, say). */
  function renderSoon(el, text, after) {
    let state = pending.get(el);
    if (!state) {
      state = { text: "", timer: 0, last: 0, after: null };
      pending.set(el, state);
    }
    state.text = text;
    state.after = after || null;
    if (state.timer) return;
    const wait = Math.max(0, state.last + STREAM_INTERVAL_MS - Date.now());
    state.timer = window.setTimeout(() => {
      state.timer = 0;
      renderInto(el, state.text);
      if (state.after) state.after();
    }, wait);
  }

  window.ArenaMarkdown = { render, renderInto, renderSoon, enabled: ready };
})();
