// DICOM JSON (PS3.18 F.2) for people: attribute values as text, a metadata table with expandable sequences.
import {lookup} from "./dict.js";
import {el} from "./ui.js";

/** The first value of tag in a DICOM JSON object, as text ("" when absent). */
export function first(obj, tag) {
  const a = obj && obj[tag];
  if (!a || !a.Value || a.Value.length === 0) return "";
  return valueText(a.vr, a.Value[0]);
}

/** All values of an attribute as one line of text. */
export function text(attr) {
  if (!attr) return "";
  if (attr.BulkDataURI) return "(bulk data)";
  if (attr.InlineBinary !== undefined) return `(binary, ${Math.floor(attr.InlineBinary.length * 3 / 4)} bytes)`;
  if (!attr.Value) return "";
  return attr.Value.map((v) => valueText(attr.vr, v)).join(" \\ ");
}

function valueText(vr, v) {
  if (v === null || v === undefined) return "";
  if (vr === "PN" && typeof v === "object") return [v.Alphabetic, v.Ideographic, v.Phonetic].filter(Boolean).join(" = ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function tagLabel(tag) {
  return `(${tag.slice(0, 4)},${tag.slice(4)})`;
}

export function keyword(tag) {
  const e = lookup(tag);
  if (e) return e.keyword;
  const group = parseInt(tag.slice(0, 4), 16);
  return group % 2 === 1 ? (parseInt(tag.slice(4, 6), 16) === 0 ? "Private Creator" : "Private") : "";
}

/** A <table> of one DICOM JSON object; sequences are <details> rows holding one nested table per item.
 *  rowHook(tag, attr, tr, path) lets a caller mark rows (the review's diff). */
export function metadataTable(obj, {rowHook, path = ""} = {}) {
  const table = el("table", {class: "meta"});
  if (!path) {
    table.append(el("thead", {}, el("tr", {}, el("th", {scope: "col", text: "Tag"}),
      el("th", {scope: "col", text: "Keyword"}), el("th", {scope: "col", text: "VR"}),
      el("th", {scope: "col", text: "Value"}))));
  }
  const body = el("tbody");
  for (const tag of Object.keys(obj).sort()) {
    const attr = obj[tag];
    const tr = el("tr", {"data-tag": tag});
    tr.append(el("td", {class: "mono", text: tagLabel(tag)}), el("td", {text: keyword(tag)}),
      el("td", {class: "mono", text: attr.vr || ""}));
    const td = el("td");
    if (attr.vr === "SQ") {
      const items = attr.Value || [];
      const det = el("details");
      det.append(el("summary", {text: `${items.length} item${items.length === 1 ? "" : "s"}`}));
      items.forEach((item, i) => {
        det.append(el("div", {class: "item-label", text: `Item ${i + 1}`}));
        det.append(metadataTable(item || {}, {rowHook, path: `${path}${tag}[${i}].`}));
      });
      td.append(det);
    } else {
      td.textContent = text(attr);
    }
    tr.append(td);
    if (rowHook) rowHook(tag, attr, tr, path + tag);
    body.append(tr);
  }
  table.append(body);
  return table;
}

// QIDO attribute tags the lists show.
export const T = {
  StudyInstanceUID: "0020000D", SeriesInstanceUID: "0020000E", SOPInstanceUID: "00080018",
  PatientName: "00100010", PatientID: "00100020", StudyDate: "00080020", AccessionNumber: "00080050",
  ModalitiesInStudy: "00080061", StudyDescription: "00081030", Modality: "00080060",
  SeriesDescription: "0008103E", SeriesNumber: "00200011", InstanceNumber: "00200013",
  NumberOfFrames: "00280008", Rows: "00280010", Columns: "00280011", SOPClassUID: "00080016",
  NumberOfStudyRelatedSeries: "00201206", NumberOfStudyRelatedInstances: "00201208",
  NumberOfSeriesRelatedInstances: "00201209", WindowCenter: "00281050", WindowWidth: "00281051",
  FailedSOPSequence: "00081198", ReferencedSOPSequence: "00081199",
};
