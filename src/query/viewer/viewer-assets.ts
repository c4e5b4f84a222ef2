/**
 * The viewer's stylesheet and script, inlined in every page and allowed by their SHA-256 in the
 * Content-Security-Policy: nothing is loaded from anywhere else, so the page works offline, needs
 * no build step, and an injected `<script>` or `style` attribute would not run.
 */
import { createHash } from 'node:crypto';
import { trustedHtml, type SafeHtml } from './html';

/** The page stylesheet. Text contrast is at least 4.5:1 on every background used. */
export const VIEWER_STYLE = `
:root{color-scheme:light;--text:#1f2933;--muted:#52606d;--line:#d5dbe3;--bg:#f4f6f9;--link:#1849b8;
--head:#1e293b;--ok-bg:#e9f8ef;--ok:#05603a;--bad-bg:#fdeeed;--bad:#9b1c13;--unk-bg:#eef0f4;--unk:#344054}
*{box-sizing:border-box}
html{font-size:15px}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--text);background:var(--bg);line-height:1.45}
a{color:var(--link);text-underline-offset:2px}
a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid var(--link);outline-offset:2px;border-radius:3px}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap;border:0}
.skip{position:absolute;left:-10000px;top:8px;background:#fff;color:var(--link);padding:8px 14px;z-index:10;
border-radius:6px}
.skip:focus{left:8px}
.wrap{max-width:1320px;margin:0 auto;padding:0 20px}
.top{background:var(--head);color:#fff}
.top .wrap{display:flex;align-items:baseline;gap:14px;padding-top:12px;padding-bottom:12px}
.brand{color:#fff;font-weight:700;font-size:1.1rem;text-decoration:none;letter-spacing:.01em}
.brand:focus-visible{outline-color:#fff}
.top .tagline{color:#cbd5e1;font-size:.9rem}
main.wrap{display:block;padding-top:24px;padding-bottom:48px}
main:focus{outline:none}
h1{font-size:1.45rem;line-height:1.25;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:1.12rem;margin:26px 0 10px}
h3{font-size:1rem;margin:0}
p{margin:0 0 10px}
.lead{color:var(--muted);margin:0 0 14px}
.crumbs{font-size:.9rem;margin:0 0 10px;color:var(--muted)}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px}
form.filters{display:grid;grid-template-columns:repeat(4,minmax(0,1fr)) repeat(3,minmax(0,.8fr));
gap:10px 12px;align-items:end}
.field label{display:block;font-weight:600;font-size:.84rem;margin-bottom:3px}
.field .hint{font-weight:400;color:var(--muted)}
input,select{width:100%;font:inherit;font-size:.95rem;padding:5px 8px;min-height:34px;border:1px solid #7b8794;
border-radius:6px;background:#fff;color:var(--text)}
.form-foot{grid-column:1/-1;display:flex;flex-wrap:wrap;gap:10px 14px;align-items:center}
.button{display:inline-block;font:inherit;font-weight:600;padding:6px 16px;border-radius:6px;border:1px solid var(--link);
background:var(--link);color:#fff;cursor:pointer;text-decoration:none}
.button:hover{background:#123a94}
.also{color:var(--muted);font-size:.9rem}
.toggle{display:flex;gap:6px;align-items:center;font-size:.9rem}
.toggle input{width:auto;min-height:0;margin:0}
.hidden-reads{font-size:.9rem}
.alert{border:1px solid #d92d20;border-left-width:6px;background:#fff5f4;color:#7a1a12;border-radius:8px;
padding:12px 16px;margin:16px 0}
.alert h2{margin:0 0 4px;font-size:1rem;color:#7a1a12}
.integrity{border:1px solid var(--line);border-left-width:6px;border-radius:8px;background:#fff;padding:10px 16px;
margin:0 0 18px;overflow-wrap:anywhere}
.integrity-ok{border-color:#9fdcb8;border-left-color:var(--ok)}
.integrity-ok strong{color:var(--ok)}
.integrity-bad{border-color:#f4b7b1;border-left-color:#d92d20;background:#fff5f4;color:#7a1a12}
.integrity-bad .sub-line{color:#7a1a12}
.integrity-none{border-left-color:#7b8794;color:var(--muted)}
.seq{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.84rem;color:var(--muted)}
.seq.unsealed{font-family:inherit;font-style:italic}
.alert p{margin:0;overflow-wrap:anywhere}
.bar{display:flex;justify-content:space-between;align-items:baseline;gap:12px;margin:18px 0 8px}
.bar p{margin:0}
.muted{color:var(--muted)}
.keys{color:var(--muted);font-size:.85rem}
kbd{font-family:inherit;font-size:.8rem;border:1px solid #9aa5b1;border-bottom-width:2px;border-radius:4px;
padding:0 5px;background:#fff;color:var(--text)}
table{border-collapse:collapse;width:100%;background:#fff}
table.events{table-layout:fixed;border:1px solid var(--line)}
.events th,.events td{text-align:left;vertical-align:top;padding:8px 10px;border-bottom:1px solid var(--line)}
.events thead th{background:#e9edf2;font-size:.78rem;text-transform:uppercase;letter-spacing:.05em;color:#323f4b}
.events tbody tr:hover{background:#f3f6fb}
.events tbody tr:focus-within{background:#e8effc}
.events tbody tr.clickable{cursor:pointer}
.c-when{width:19%}.c-who{width:14%}.c-what{width:20%}.c-target{width:12%}.c-outcome{width:9%}.c-fields{width:26%}
.clip{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.sub-line{display:block;color:var(--muted);font-size:.84rem}
.row-link{font-weight:600}
code,.code,.json,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.86em}
.badge{display:inline-block;white-space:nowrap;border-radius:999px;padding:1px 9px;font-size:.8rem;font-weight:600;
border:1px solid}
.badge-success{background:var(--ok-bg);color:var(--ok);border-color:#9fdcb8}
.badge-failure{background:var(--bad-bg);color:var(--bad);border-color:#f4b7b1}
.badge-unknown{background:var(--unk-bg);color:var(--unk);border-color:#c9ced6}
.tag{display:inline-block;border-radius:4px;padding:0 6px;font-size:.76rem;font-weight:600;vertical-align:1px}
th .tag{margin-left:6px}
.tag-added{background:var(--ok-bg);color:var(--ok)}
.tag-removed{background:var(--bad-bg);color:var(--bad)}
.tag-redacted{background:#e4e7ec;color:#344054;border:1px dashed #667085}
.empty{text-align:center;padding:32px 16px}
.empty h2{margin:0 0 6px}
.paging{display:flex;gap:18px;justify-content:flex-end;margin-top:14px;font-weight:600}
table.changes{table-layout:fixed;border:1px solid var(--line)}
.changes th,.changes td{text-align:left;vertical-align:top;padding:8px 10px;border-bottom:1px solid var(--line);
overflow-wrap:anywhere}
.changes .text,.changes .json{white-space:pre-wrap}
.changes thead th{background:#e9edf2;font-size:.78rem;text-transform:uppercase;letter-spacing:.05em;color:#323f4b}
.changes thead th:nth-child(1){width:24%}.changes thead th:nth-child(3){width:36px}
.changes tbody th{font-weight:600}
.changes td.arrow{text-align:center;color:var(--muted);padding-left:0;padding-right:0}
.changes td.before .text,.changes td.before .json{background:var(--bad-bg);color:#7a1a12;border-radius:3px;padding:0 3px}
.changes td.after .text,.changes td.after .json{background:var(--ok-bg);color:#064e30;border-radius:3px;padding:0 3px}
.changes .text .text{padding:0;background:none}
.changes tr.change-cut td{color:var(--muted);font-style:italic}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:16px;margin-top:24px}
.grid h2{margin:0 0 10px;font-size:1rem}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:6px 16px;margin:0}
dl.facts dt{color:var(--muted);font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.headline{display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;margin:0 0 16px;color:var(--muted)}
.timeline{list-style:none;margin:0;padding:0 0 0 22px;border-left:3px solid var(--line)}
.timeline>li{position:relative;margin:0 0 18px}
.timeline>li::before{content:"";position:absolute;left:-32px;top:14px;width:11px;height:11px;border-radius:50%;
background:#fff;border:3px solid var(--link)}
.timeline h2{font-size:1.02rem;margin:0}
.timeline .entry-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 14px;margin:0 0 8px}
details.raw{margin-top:26px}
details.raw summary{cursor:pointer;font-weight:600}
details.raw pre{background:#111827;color:#e5e7eb;padding:12px 14px;border-radius:6px;overflow:auto;max-height:520px;
white-space:pre-wrap;overflow-wrap:anywhere}
button.copy{font:inherit;font-size:.78rem;margin-left:8px;padding:0 8px;border:1px solid #7b8794;border-radius:4px;
background:#fff;color:var(--text);cursor:pointer}
@media (max-width:1100px){form.filters{grid-template-columns:repeat(3,minmax(0,1fr))}}
@media (max-width:700px){form.filters{grid-template-columns:1fr}.c-fields,.col-fields{display:none}}
`;

/**
 * The page script: progressive enhancement only, every page works without it. It shows times in
 * the reader's zone with "x minutes ago", moves between rows with j / k, opens a row on click,
 * keeps the period fields consistent and the URL short, and adds "Copy" buttons.
 */
export const VIEWER_SCRIPT = `
(function () {
  'use strict';
  var doc = document;
  var units = [['year', 31536e6], ['month', 2592e6], ['week', 6048e5], ['day', 864e5],
    ['hour', 36e5], ['minute', 6e4], ['second', 1e3]];
  var rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;
  var full = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit',
    minute: '2-digit', second: '2-digit', timeZoneName: 'short' };
  var longTime = new Intl.DateTimeFormat(undefined, full);
  var shortTime = new Intl.DateTimeFormat(undefined, Object.assign({}, full, { second: undefined }));
  function ago(ms) {
    for (var i = 0; i < units.length; i++) {
      var unit = units[i];
      if (Math.abs(ms) >= unit[1] || unit[0] === 'second') return rtf.format(-Math.round(ms / unit[1]), unit[0]);
    }
    return '';
  }
  doc.querySelectorAll('time[datetime]').forEach(function (el) {
    var iso = el.getAttribute('datetime');
    var when = new Date(iso);
    if (isNaN(when.getTime())) return;
    var relative = rtf ? ago(Date.now() - when.getTime()) : '';
    var compact = el.hasAttribute('data-ago');
    el.textContent = (compact ? shortTime : longTime).format(when);
    el.title = longTime.format(when) + (relative ? ', ' + relative : '') + ' \u2014 ' + iso;
    if (relative && compact) {
      var line = doc.createElement('span');
      line.className = 'sub-line';
      line.textContent = relative;
      el.after(line);
    }
  });

  function rowLinks() { return Array.prototype.slice.call(doc.querySelectorAll('a.row-link')); }
  doc.querySelectorAll('[data-keys]').forEach(function (el) { if (rowLinks().length) el.hidden = false; });
  doc.addEventListener('keydown', function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName))) return;
    if (event.key === 'j' || event.key === 'k') {
      var links = rowLinks();
      if (!links.length) return;
      var at = links.indexOf(doc.activeElement);
      var next = at < 0 ? 0 : event.key === 'j' ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      links[next].focus();
      event.preventDefault();
    } else if (event.key === '/') {
      var first = doc.getElementById('f-actor');
      if (first) { first.focus(); event.preventDefault(); }
    }
  });
  doc.querySelectorAll('tr[data-row]').forEach(function (row) {
    var link = row.querySelector('a.row-link');
    if (!link) return;
    row.classList.add('clickable');
    row.addEventListener('click', function (event) {
      if (event.target.closest('a, button, input, select') || String(window.getSelection())) return;
      window.location.assign(link.href);
    });
  });

  var form = doc.querySelector('form.filters');
  if (form) {
    var since = form.elements.namedItem('since');
    var from = form.elements.namedItem('from');
    if (since && from) {
      since.addEventListener('change', function () { if (since.value) from.value = ''; });
      from.addEventListener('input', function () { if (from.value) since.value = ''; });
    }
    form.addEventListener('submit', function (event) {
      var params = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (el) {
        var box = el.type === 'checkbox' || el.type === 'radio';
        if (el.name && el.value && !el.disabled && (!box || el.checked)) params.append(el.name, el.value);
      });
      event.preventDefault();
      var query = params.toString();
      // form.action would be the field named "action" (a form's fields shadow its properties).
      var target = new URL(form.getAttribute('action') || '', window.location.href);
      target.search = query;
      window.location.assign(target.href);
    });
  }

  if (navigator.clipboard && window.isSecureContext) {
    doc.querySelectorAll('[data-copy]').forEach(function (el) {
      var button = doc.createElement('button');
      button.type = 'button';
      button.className = 'copy';
      button.textContent = 'Copy';
      button.setAttribute('aria-label', 'Copy ' + (el.getAttribute('data-copy-label') || 'value'));
      button.addEventListener('click', function () {
        navigator.clipboard.writeText(el.getAttribute('data-copy') || '').then(function () {
          button.textContent = 'Copied';
          setTimeout(function () { button.textContent = 'Copy'; }, 1500);
        }, function () { button.textContent = 'Copy failed'; });
      });
      el.after(button);
    });
  }
})();
`;

// Built by concatenation, not in an html template: a formatter that reflows templates must not
// touch these bytes, or they would no longer match the hashes below.
/** The `<style>` element of every page. */
export const VIEWER_STYLE_ELEMENT: SafeHtml = trustedHtml('<style>' + VIEWER_STYLE + '</style>');
/** The `<script>` element of every page, at the end of the body. */
export const VIEWER_SCRIPT_ELEMENT: SafeHtml = trustedHtml(
  '<script>' + VIEWER_SCRIPT + '</script>',
);

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The Content-Security-Policy of every viewer page: nothing but the inline stylesheet and script
 * above (by hash), `data:` images (the icon), and forms that submit to this origin.
 */
export const VIEWER_CSP = [
  "default-src 'none'",
  `script-src ${sha256(VIEWER_SCRIPT)}`,
  `style-src ${sha256(VIEWER_STYLE)}`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Response headers of every viewer page, error pages included. */
export const VIEWER_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': VIEWER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
