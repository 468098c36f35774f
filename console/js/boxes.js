// Redaction boxes over a rendered frame (the review, issue 9 item 4). The boxes are those the operation's
// pixel stage painted on the de-identified instance, recorded by the server with the operation and read from
// the extension endpoint GET /dicomveil/v1/redactionBoxes (docs/console.md "Redaction boxes"): frame number
// (from 1) and x, y, w, h in the frame's own pixels. Coordinates only — the server keeps no recognised text.
//
// An SVG laid exactly over the <img> (its displayed box, re-measured on every load and resize) with a viewBox
// of the frame's size, so the outlines scale with the picture whatever size it is shown at. The de-identified
// frame gets solid outlines; the original's the same boxes dashed (where the text was).
import * as api from "./api.js";
import {el} from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

function svgEl(name, attrs) {
  const n = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
}

/** The operation's record for one output instance: {framesExamined, boxCount, truncated, boxes}, or null when
 *  the operation recorded nothing for it (404: its config cleans no pixels of that instance). */
export async function fetchBoxes(operation, instance) {
  try {
    return await api.json(`/dicomveil/v1/redactionBoxes${api.qs({operation, instance})}`);
  } catch (e) {
    if (e.httpStatus === 404) return null;
    throw e;
  }
}

/** One sentence about an instance's record, for the review's summary line. */
export function describeRecord(rec) {
  if (!rec) return "No burned-in text redaction on this instance: the operation's config cleans no pixels of it.";
  const frames = new Set(rec.boxes.map((b) => b.frame)).size;
  if (rec.boxCount === 0) return `Burned-in text: ${rec.framesExamined} frame(s) examined, nothing redacted.`;
  return `Burned-in text: ${rec.boxCount} box(es) redacted on ${frames} of ${rec.framesExamined} frame(s)` +
         (rec.truncated ? ` (the first ${rec.boxes.length} kept by the server).` : ".");
}

/**
 * An overlay for viewer() (browse.js): {node, legend, show(frame, img)}. rec: the record (or null); size:
 * [columns, rows] of the frame (null: the picture's own size); dashed: the original's side.
 */
export function boxOverlay(rec, {id, dashed = false, size = null}) {
  const node = svgEl("svg", {id: `${id}-boxes`, class: `box-overlay${dashed ? " dashed" : ""}`, "aria-hidden": "true",
                             focusable: "false", preserveAspectRatio: "none"});
  const legend = el("p", {class: "box-legend", id: `${id}-legend`, "aria-live": "polite"});
  let img = null;
  const place = () => {
    if (!img || !img.naturalWidth) return;
    // CSSOM, not a style attribute: the console's CSP allows no inline style.
    node.style.left = `${img.offsetLeft}px`;
    node.style.top = `${img.offsetTop}px`;
    node.style.width = `${img.offsetWidth}px`;
    node.style.height = `${img.offsetHeight}px`;
  };
  const resize = new ResizeObserver(place);
  function show(frame, image) {
    if (img !== image) {
      if (img) resize.unobserve(img);
      img = image;
      resize.observe(img);
    }
    const [w, h] = size && size[0] > 0 && size[1] > 0 ? size : [img.naturalWidth, img.naturalHeight];
    node.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const mine = rec ? rec.boxes.filter((b) => b.frame === frame) : [];
    node.replaceChildren(...mine.map((b) => svgEl("rect", {class: "box", x: b.x, y: b.y, width: b.w, height: b.h,
                                                           "vector-effect": "non-scaling-stroke"})));
    node.dataset.frame = String(frame);
    node.dataset.boxes = String(mine.length);
    legend.textContent = !rec ? "No redaction recorded for this instance."
      : `${mine.length} box${mine.length === 1 ? "" : "es"} redacted on this frame` +
        (dashed ? " (dashed: where the text was)" : "");
    place();
  }
  return {node, legend, show};
}
