/**
 * The examples' live pages (the L2 replay's `/l2`, the NATS cluster's `/cluster`): one look, and one
 * way to serve them. Everything is inline (HTML, CSS, JS: nothing downloaded) and a page talks only to
 * the server that served it.
 */
import { Effect } from "effect"
import { HttpServerResponse } from "effect/http"

/** The CSS they share: a header, tiles of figures (`.bad` in red), tables of numbers. */
export const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1{font-size:1.3em;margin:0 0 .2em} .sub{color:#666;margin-bottom:1em}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.6em;margin-bottom:1em}
.tile{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6em}
.tile b{display:block;font-size:1.4em} .tile span{color:#666;font-size:.85em}
.bad b{color:#b00}
table{border-collapse:collapse;background:#fff;margin:.3em 1.5em 1em 0;font-variant-numeric:tabular-nums}
td,th{border:1px solid #ddd;padding:.2em .6em;text-align:right} th{background:#f0f0f0}
h2{font-size:1em;margin:.4em 0}`

/** A route's handler answering with `html`, never cached. */
export const serve = (html: string) =>
  Effect.sync(() =>
    HttpServerResponse.text(html, {
      contentType: "text/html; charset=utf-8",
      headers: {
        "cache-control": "no-store",
        "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"
      }
    })
  )
