// The page of one served model: builds the form from the page's config, calls the model's
// JSON endpoints, and draws the answer. Plain browser JavaScript, no libraries, nothing
// fetched but this server's own endpoints. Every text from the server or the user is set
// with textContent, never parsed as HTML.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const byId = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const MAX_BARS = 15;
  const RED = "#c0392b";
  const BLUE = "#2f6fde";
  const GREY = "#616e7c";

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === "text") node.textContent = value;
      else if (value !== null && value !== undefined) node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  function svgElement(tag, attributes = {}) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    return node;
  }

  // An SVG drawing `width` units wide that shrinks with its panel.
  function drawing(width, height) {
    return svgElement("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width: "100%",
      style: `max-width: ${width}px`,
      role: "img",
    });
  }

  const percent = (p) => `${(100 * p).toFixed(1)}%`;
  const points = (v) => `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}%`;
  const number = (x) =>
    Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString();
  const missing = (value) => value === null || value === undefined;
  const count = (key) => {
    document.body.dataset[key] = String(Number(document.body.dataset[key] || 0) + 1);
  };

  // ------------------------------------------------------------------ the form
  const fields = []; // {column, control, error, wrapper}
  const HINTS = { numeric: "number", categorical: "category", text: "text", image: "image file" };

  function buildForm() {
    byId("model-name").textContent = config.name;
    byId("model-task").textContent = `${config.task || config.estimator} · ${config.estimator}`;
    byId("metadata-link").href = config.urls.metadata;
    if (config.kind === "generation") {
      config.columns = [
        { name: "prompt", kind: "text", value: "" },
        { name: "max_new_tokens", kind: "numeric", value: 50 },
        { name: "temperature", kind: "numeric", value: 1.0 },
      ];
      byId("predict-button").textContent = "Generate";
    }
    if (!config.columns.length) {
      byId("case-form").hidden = true;
      byId("form-title").hidden = true;
      byId("waiting").textContent = "Choose a CSV file and press Predict all.";
    }
    config.columns.forEach((column, index) => {
      const id = `field-${index}`;
      const hint = element("span", { class: "hint", text: HINTS[column.kind] });
      const label = element("label", { for: id }, column.name, " ", hint);
      const control = makeControl(column, id);
      const error = element("p", { class: "field-error", id: `error-${index}`, role: "alert" });
      const wrapper = element(
        "div", { class: "field", "data-column": column.name }, label, control, error,
      );
      byId("fields").append(wrapper);
      fields.push({ column, control, error, wrapper });
    });
    buildBatchHelp();
  }

  function buildBatchHelp() {
    const names = config.columns.map((c) => c.name).join(", ");
    const help = {
      table:
        `A CSV file whose header names the columns (${names}); an empty cell is a missing ` +
        `value. At most ${config.max_batch} rows per request; larger files are sent in parts.`,
      texts: "A CSV file with a column named text (or a single column), one text per row.",
      images: "Image files (PNG, JPEG, BMP or GIF); choose several at once.",
      transactions: "A CSV file of transactions, with the columns the model was trained on.",
      events: "A CSV file of events (one row per code), with the columns the model was trained on.",
    }[config.kind];
    if (!help) {
      for (const id of ["batch-title", "batch-help", "batch-file", "batch-button"]) {
        byId(id).hidden = true;
      }
      return;
    }
    byId("batch-help").textContent = help;
    if (config.kind === "images") {
      byId("batch-file").accept = "image/*";
      byId("batch-file").multiple = true;
    }
  }

  function makeControl(column, id) {
    const value = missing(column.value) ? "" : String(column.value);
    const name = column.name;
    if (column.kind === "categorical" && column.drop_down) {
      const select = element("select", { id, name });
      select.append(element("option", { value: "", text: "(missing)" }));
      for (const category of column.categories) {
        select.append(element("option", { value: category, text: category }));
      }
      select.value = value;
      return select;
    }
    if (column.kind === "categorical") {
      // Too many categories for a list: a text box that suggests them.
      const list = element("datalist", { id: `${id}-list` });
      for (const category of column.categories) list.append(element("option", { value: category }));
      const input = element("input", { id, name, type: "text", list: `${id}-list`, value });
      return element("span", {}, input, list);
    }
    if (column.kind === "text") return element("textarea", { id, name, text: value });
    if (column.kind === "image") {
      return element("input", { id, name, type: "file", accept: "image/*" });
    }
    return element("input", {
      id, name, type: "text", inputmode: "decimal", value, autocomplete: "off",
    });
  }

  function inputOf(field) {
    const control = field.control;
    return control.tagName === "SPAN" ? control.querySelector("input") : control;
  }

  // A number typed as a number is sent as one; anything else is sent as typed, so that
  // the server's validation (422, naming the field) is what the user sees.
  function numberOrText(text) {
    const trimmed = text.trim();
    if (trimmed === "") return null;
    const value = Number(trimmed);
    return Number.isFinite(value) ? value : trimmed;
  }

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  async function formRow() {
    const row = {};
    for (const field of fields) {
      const { name, kind } = field.column;
      const input = inputOf(field);
      if (kind === "image") row[name] = input.files.length ? await readFile(input.files[0]) : null;
      else if (kind === "numeric") row[name] = numberOrText(input.value);
      else row[name] = input.value.trim() === "" ? null : input.value;
    }
    return row;
  }

  function requestBody(items, withSet) {
    const key = { texts: "texts", images: "images" }[config.kind] || "rows";
    const body = { [key]: items };
    if (withSet && config.alpha !== null) body.alpha = config.alpha;
    return body;
  }

  // --------------------------------------------------------------- requests
  async function post(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (error) {
      return { ok: false, status: 0, data: { detail: "The server cannot be reached." } };
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : { detail: null };
    return { ok: response.ok, status: response.status, data };
  }

  function clearErrors() {
    for (const field of fields) {
      field.error.textContent = "";
      field.wrapper.classList.remove("invalid");
    }
    byId("form-error").textContent = "";
    byId("batch-error").textContent = "";
  }

  function fieldNamed(name) {
    return fields.find((field) => field.column.name === name);
  }

  function markField(field, message) {
    const shown = field.error.textContent;
    field.error.textContent = shown ? `${shown} ${message}` : message;
    field.wrapper.classList.add("invalid");
  }

  // The field a validation error's `loc` points at: ["body", "rows", 0, column],
  // ["body", "texts", 0] or ["body", "prompt"].
  function fieldOf(loc) {
    if (!Array.isArray(loc) || loc[0] !== "body") return null;
    if (loc[1] === "rows" && loc.length > 3) return fieldNamed(String(loc[3]));
    if ((loc[1] === "texts" || loc[1] === "images") && fields.length === 1) return fields[0];
    return fieldNamed(String(loc[1]));
  }

  function statusMessage(status, data) {
    if (status === 0) return data.detail;
    if (status === 413) {
      return "The request is too large for this server; send fewer rows or smaller images.";
    }
    if (typeof data.detail === "string") return data.detail;
    return `The server could not answer (HTTP ${status}).`;
  }

  // Validation errors go next to their fields; the estimator's own messages name a
  // column in backquotes, so that field is marked too.
  function showFormErrors(status, data) {
    const general = [];
    if (status === 422 && Array.isArray(data.detail)) {
      for (const error of data.detail) {
        const field = fieldOf(error.loc);
        if (field) markField(field, error.msg);
        else general.push(`${(error.loc || []).slice(1).join(" > ")}: ${error.msg}`);
      }
    } else {
      const message = statusMessage(status, data);
      general.push(message);
      for (const match of message.matchAll(/`([^`]+)`/g)) {
        const field = fieldNamed(match[1]);
        if (field) markField(field, message);
      }
    }
    byId("form-error").textContent = general.join("\n");
  }

  // --------------------------------------------------------------- drawing
  // A horizontal bar chart: signed values grow right (red) or left (blue) of zero.
  function barChart(items, { signed = true, format = number } = {}) {
    const labelWidth = 220, barWidth = 300, valueWidth = 70, rowHeight = 22;
    const height = rowHeight * items.length + 4;
    const svg = drawing(labelWidth + barWidth + valueWidth, height);
    svg.classList.add("bars");
    const largest = Math.max(...items.map((item) => Math.abs(item.value)), 1e-12);
    const zero = signed ? labelWidth + barWidth / 2 : labelWidth;
    const scale = (signed ? barWidth / 2 : barWidth) / largest;
    items.forEach((item, k) => {
      const y = k * rowHeight + 2;
      const length = Math.abs(item.value) * scale;
      const up = item.value >= 0;
      svg.append(svgElement("text", {
        x: labelWidth - 6, y: y + 15, "text-anchor": "end", text: item.label,
      }));
      svg.append(svgElement("rect", {
        class: `bar ${up ? "up" : "down"}`,
        x: up ? zero : zero - length,
        y: y + 3,
        width: Math.max(length, 1),
        height: rowHeight - 8,
        fill: item.color || (up ? RED : BLUE),
        "data-label": item.key ?? item.label,
        "data-value": item.value,
      }));
      svg.append(svgElement("text", {
        x: labelWidth + barWidth + 6, y: y + 15, text: format(item.value),
      }));
    });
    if (signed) {
      svg.append(svgElement("line", { x1: zero, x2: zero, y1: 0, y2: height, stroke: GREY }));
    }
    return svg;
  }

  function figure(title, picture, caption) {
    const node = element("div", { class: "figure" }, element("h3", { text: title }), picture);
    if (caption) node.append(element("p", { class: "caption", text: caption }));
    return node;
  }

  // A value as a bar's label shows it: dates without their midnight, long texts cut.
  function shown(value) {
    if (missing(value) || value === "") return "missing";
    if (typeof value !== "string") return String(value);
    if (value.startsWith("data:")) return "image";
    if (/^\d{4}-\d\d-\d\dT00:00:00(\.0+)?Z?$/.test(value)) return value.slice(0, 10);
    return value.length > 24 ? `${value.slice(0, 22)}…` : value;
  }

  function columnLabel(column, row) {
    return row && column in row ? `${column} = ${shown(row[column])}` : column;
  }

  // ------------------------------------------------------------- predictions
  function showPrediction(prediction, target = byId("prediction")) {
    target.replaceChildren();
    if (config.kind === "generation") {
      target.append(element("pre", { class: "generated", text: prediction.text }));
    } else if (config.regressor) {
      showValue(prediction, target);
    } else if (config.survival) {
      showSurvival(prediction, target);
    } else {
      showClasses(prediction, target);
    }
  }

  function showClasses(prediction, target) {
    const multilabel = Array.isArray(prediction.label);
    const label = multilabel
      ? config.classes.filter((_, k) => prediction.label[k]).join(", ") || "no label"
      : String(prediction.label);
    target.append(element("p", { class: "label", id: "predicted-label", text: label }));
    if (!multilabel) {
      const p = prediction.probabilities[String(prediction.label)];
      target.append(element("p", { class: "caption", text: `with probability ${percent(p)}` }));
    }
    const probabilities = Object.entries(prediction.probabilities)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([name, p]) => ({ label: name, value: p, color: BLUE }));
    const calibrated = config.calibration
      ? ` Calibrated on held-out rows (${config.calibration} scaling).`
      : "";
    target.append(figure(
      "Probabilities",
      barChart(probabilities, { signed: false, format: percent }),
      `How likely the model finds each class.${calibrated}`,
    ));
    if (!missing(prediction.points)) {
      const score = element("strong", { text: prediction.points.toFixed(0) });
      target.append(element("p", { id: "points" }, "Score: ", score, " points"));
    }
    if (prediction.label_set) {
      const coverage = Math.round(100 * (1 - config.alpha));
      const chips = prediction.label_set.map(
        (name) => element("span", { class: "set", text: String(name) }),
      );
      const caption =
        `The classes that cannot be ruled out: the set holds the true class for ${coverage}% ` +
        "of cases like the held-out ones.";
      target.append(element(
        "div", { id: "label-set" },
        element("h3", { text: `${coverage}% label set` }),
        ...chips,
        element("p", { class: "caption", text: caption }),
      ));
    }
  }

  function showValue(prediction, target) {
    const single = typeof prediction.value !== "object";
    const values = single
      ? { [config.target_names[0] || "value"]: prediction.value }
      : prediction.value;
    for (const [name, value] of Object.entries(values)) {
      target.append(element("p", { class: "label", text: `${name}: ${number(value)}` }));
      const interval = prediction.interval === null ? null
        : single ? prediction.interval : prediction.interval[name];
      if (interval) {
        const text = `90% prediction interval: ${number(interval[0])} to ${number(interval[1])}`;
        target.append(element("p", { class: "caption", text }));
      }
    }
  }

  function showSurvival(prediction, target) {
    const median = prediction.median_time === null
      ? "beyond the last time seen"
      : number(prediction.median_time);
    target.append(element("p", { class: "label", text: `Median time to event: ${median}` }));
    const risk = `Risk score ${number(prediction.risk)} (higher: the event is expected sooner).`;
    target.append(element("p", { class: "caption", text: risk }));
    target.append(figure(
      "Survival curve",
      survivalCurve(prediction.survival),
      "Probability of being event-free over time; the dashed line is 0.5, crossed at the " +
        "median time.",
    ));
  }

  // A step curve from (0, 1) through the model's time grid, on labelled axes.
  function survivalCurve(survival) {
    const steps = [[0, 1], ...Object.entries(survival).map(([t, s]) => [Number(t), s])];
    const width = 480, height = 180, left = 40, right = width - 10, top = 8;
    const last = steps[steps.length - 1][0] || 1;
    const x = (t) => left + (t / last) * (right - left);
    const y = (s) => top + (1 - s) * height;
    const svg = drawing(width, height + top + 24);
    svg.append(svgElement("path", {
      d: `M${left},${top} V${y(0)} H${right}`, fill: "none", stroke: GREY,
    }));
    svg.append(svgElement("line", {
      x1: left, x2: right, y1: y(0.5), y2: y(0.5), stroke: "#d9e2ec", "stroke-dasharray": "4 3",
    }));
    for (const s of [0, 0.5, 1]) {
      svg.append(svgElement("text", {
        x: left - 6, y: y(s) + 4, "text-anchor": "end", text: String(s),
      }));
    }
    for (const [t, anchor] of [[0, "start"], [last / 2, "middle"], [last, "end"]]) {
      svg.append(svgElement("text", {
        x: x(t), y: y(0) + 16, "text-anchor": anchor, text: number(t),
      }));
    }
    const path = steps
      .map(([t, s], k) => (k ? `H${x(t)} V${y(s)}` : `M${x(t)},${y(s)}`))
      .join(" ");
    svg.append(svgElement("path", {
      d: path, fill: "none", stroke: BLUE, "stroke-width": 2, class: "survival-curve",
    }));
    return svg;
  }

  // ------------------------------------------------------------ explanations
  function showExplanation(data, index, row, image) {
    const target = byId("explanation");
    target.replaceChildren();
    const explanation = data.explanations[index];
    if (config.explains === "columns") showColumns(target, explanation, row);
    else if (config.explains === "reason_codes") showReasonCodes(target, explanation, row);
    else if (config.explains === "events") showEvents(target, data.explanations);
    else if (config.explains === "tokens") {
      const about = config.positive !== null
        ? `the probability of ${config.positive}`
        : "the predicted class";
      target.append(figure(
        "Why",
        highlightedWords(explanation.tokens),
        `Words in red raise ${about}; words in blue lower it.`,
      ));
    } else if (config.explains === "heat_map") {
      const canvas = element("canvas", { id: "grad-cam" });
      target.append(figure(
        "Where the model looked",
        canvas,
        "Grad-CAM: warm colours mark the regions that raised the predicted class.",
      ));
      drawOverlay(canvas, image, explanation.heatmap);
    }
  }

  // What a table's column attributions are in: the probability, or the target's own units.
  function explained() {
    if (config.regressor) return config.target_names[0] || "the prediction";
    if (config.survival) return `the probability of the event by time ${number(config.horizon)}`;
    if (config.positive !== null) return `the probability of ${config.positive}`;
    return "the predicted class's probability";
  }

  function showColumns(target, explanation, row) {
    const items = Object.entries(explanation.attributions)
      .filter(([, value]) => value !== null)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, MAX_BARS)
      .map(([column, value]) => ({ key: column, label: columnLabel(column, row), value }));
    const about = explained();
    const format = config.regressor ? number : percent;
    const base = explanation.baseline === undefined
      ? ""
      : ` from the typical case's ${format(explanation.baseline)}`;
    const units = config.regressor ? "" : " (in percentage points)";
    target.append(figure(
      "Why",
      barChart(items, { format: config.regressor ? number : points }),
      `How much each column moved ${about}${base}${units}: red bars raise it, blue bars ` +
        "lower it.",
    ));
    showParts(target, explanation, row, about);
  }

  // Within a table's text and image columns: the words, and where in the image.
  function showParts(target, explanation, row, about) {
    for (const [column, tokens] of Object.entries(explanation.words || {})) {
      if (!tokens.length) continue;
      const words = highlightedWords(tokens);
      words.dataset.column = column;
      target.append(figure(
        `Words in ${column}`, words, `Words in red raise ${about}; words in blue lower it.`,
      ));
    }
    for (const [column, heatmap] of Object.entries(explanation.heatmaps || {})) {
      const image = row ? row[column] : null;
      if (!heatmap || typeof image !== "string" || !image.startsWith("data:")) continue;
      const canvas = element("canvas", { class: "grad-cam", "data-column": column });
      target.append(figure(
        `Where the model looked in ${column}`,
        canvas,
        "Grad-CAM: warm colours mark the regions that raised the prediction.",
      ));
      drawOverlay(canvas, image, heatmap);
    }
  }

  function showReasonCodes(target, explanation, row) {
    const items = [];
    for (let k = 1; `reason_${k}` in explanation; k++) {
      const column = explanation[`reason_${k}`];
      if (column === null) continue; // Fewer columns than reasons cost points.
      const lost = explanation[`points_${k}`];
      items.push({ key: column, label: columnLabel(column, row), value: lost });
    }
    target.append(figure(
      "Reason codes",
      barChart(items, { signed: false, format: (v) => `−${v.toFixed(0)}` }),
      "The columns that cost this applicant the most points, largest first.",
    ));
  }

  function showEvents(target, records) {
    const describe = (record) => Object.entries(record)
      .filter(([key]) => key !== "attribution")
      .map(([, value]) => shown(value))
      .join(" · ");
    const items = records
      .filter((record) => !missing(record.attribution))
      .sort((a, b) => Math.abs(b.attribution) - Math.abs(a.attribution))
      .slice(0, MAX_BARS)
      .map((record) => ({ label: describe(record), value: record.attribution }));
    target.append(figure(
      "Why",
      barChart(items),
      "The events that moved the prediction most: red raise it, blue lower it.",
    ));
  }

  function highlightedWords(tokens) {
    const node = element("p", { class: "words" });
    const largest = Math.max(...tokens.map((t) => Math.abs(t.attribution)), 1e-12);
    for (const { token, attribution } of tokens) {
      const strength = (Math.abs(attribution) / largest).toFixed(3);
      const colour = attribution >= 0
        ? `rgba(192, 57, 43, ${strength})`
        : `rgba(47, 111, 222, ${strength})`;
      node.append(element("span", {
        style: `background: ${colour}`,
        title: attribution.toFixed(4),
        "data-attribution": attribution,
        text: token,
      }), " ");
    }
    return node;
  }

  // The image, with the heat map over it in a warm colour scale.
  function drawOverlay(canvas, image, heatmap) {
    const picture = new Image();
    picture.onload = () => {
      const scale = Math.max(1, Math.floor(320 / picture.width));
      const width = Math.min(picture.width * scale, 480);
      const height = Math.round((picture.height / picture.width) * width);
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d");
      context.imageSmoothingEnabled = false;
      context.drawImage(picture, 0, 0, width, height);
      const rows = heatmap.length, columns = heatmap[0].length;
      const heat = document.createElement("canvas");
      heat.width = columns;
      heat.height = rows;
      const pixels = heat.getContext("2d").createImageData(columns, rows);
      heatmap.forEach((line, i) => line.forEach((v, j) => {
        const colour = [255, Math.round(255 * (1 - v)), 0, Math.round(170 * v)];
        pixels.data.set(colour, 4 * (i * columns + j));
      }));
      heat.getContext("2d").putImageData(pixels, 0, 0);
      context.imageSmoothingEnabled = true;
      context.drawImage(heat, 0, 0, width, height);
      canvas.dataset.drawn = "true";
    };
    picture.src = image;
  }

  // ------------------------------------------------------------ one case
  async function predictCase(event) {
    event.preventDefault();
    clearErrors();
    const button = byId("predict-button");
    button.disabled = true;
    try {
      byId("batch-results").replaceChildren();
      byId("explanation").replaceChildren();
      const row = await formRow();
      if (config.kind === "generation") {
        const { prompt, max_new_tokens, temperature } = row;
        const body = { prompt: prompt || "", max_new_tokens, temperature };
        const answer = await post(config.urls.predict, body);
        if (!answer.ok) return fail(answer);
        return done(() => showPrediction(answer.data));
      }
      const item = config.kind === "table" ? row : row[config.columns[0].name];
      const answer = await post(config.urls.predict, requestBody([item], true));
      if (!answer.ok) return fail(answer);
      done(() => showPrediction(answer.data.predictions[0]));
      await explainOne(item, config.kind === "table" ? row : null);
    } finally {
      button.disabled = false;
    }
  }

  function fail(answer) {
    byId("prediction").replaceChildren();
    byId("waiting").hidden = true;
    showFormErrors(answer.status, answer.data);
  }

  function done(draw) {
    byId("waiting").hidden = true;
    draw();
    count("answered");
  }

  async function explainOne(item, row, context = {}) {
    if (!config.urls.explain) return;
    const target = byId("explanation");
    target.replaceChildren(element("p", { class: "muted", text: "Explaining…" }));
    const answer = await post(config.urls.explain, { ...requestBody([item], false), ...context });
    if (!answer.ok) {
      const message = statusMessage(answer.status, answer.data);
      target.replaceChildren(element("p", { class: "form-error", text: message }));
      return;
    }
    showExplanation(answer.data, 0, row, config.kind === "images" ? item : null);
    count("explained");
  }

  // ------------------------------------------------------------ many cases
  // RFC 4180: quoted fields may hold commas, quotes ("") and line breaks.
  function parseCsv(text) {
    const records = [];
    let record = [], value = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          value += '"';
          i++;
        } else if (c === '"') quoted = false;
        else value += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") {
        record.push(value);
        value = "";
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        record.push(value);
        records.push(record);
        record = [];
        value = "";
      } else value += c;
    }
    if (value !== "" || record.length) {
      record.push(value);
      records.push(record);
    }
    return records.filter((r) => r.length > 1 || r[0] !== "");
  }

  async function batchItems(file) {
    if (config.kind === "images") return Promise.all([...byId("batch-file").files].map(readFile));
    const [header, ...records] = parseCsv(await file.text());
    if (!header) throw new Error("The file is empty.");
    if (config.kind === "texts") {
      const column = header.length === 1 ? 0 : header.indexOf("text");
      if (column < 0) {
        const names = header.join(", ");
        throw new Error(`The file needs a column named text; its columns are ${names}.`);
      }
      return records.map((r) => r[column] ?? "");
    }
    const numeric = new Set(config.numeric_columns);
    return records.map((record, k) => {
      if (record.length !== header.length) {
        throw new Error(
          `Line ${k + 2} has ${record.length} values; the header names ${header.length} columns.`,
        );
      }
      const row = {};
      header.forEach((name, j) => {
        const value = record[j];
        row[name] = value === "" ? null : numeric.has(name) ? numberOrText(value) : value;
      });
      return row;
    });
  }

  let batch = null; // {items, predictions}

  async function predictBatch() {
    clearErrors();
    const file = byId("batch-file").files[0];
    if (!file) {
      byId("batch-error").textContent = "Choose a file first.";
      return;
    }
    const button = byId("batch-button");
    button.disabled = true;
    try {
      let items;
      try {
        items = await batchItems(file);
      } catch (error) {
        byId("batch-error").textContent = error.message;
        return;
      }
      // Transactions and events read each other's rows: they go in one request.
      const together = config.kind === "transactions" || config.kind === "events";
      const size = together ? items.length : config.max_batch;
      const predictions = [];
      for (let start = 0; start < items.length; start += size) {
        const part = requestBody(items.slice(start, start + size), true);
        const answer = await post(config.urls.predict, part);
        if (!answer.ok) {
          byId("batch-error").textContent = batchMessage(answer, start);
          return;
        }
        predictions.push(...answer.data.predictions);
      }
      batch = { items, predictions };
      byId("prediction").replaceChildren();
      byId("explanation").replaceChildren();
      done(() => showBatch(batch));
    } finally {
      button.disabled = false;
    }
  }

  // A 422 of a file, by its line (the header is line 1) and column.
  function batchMessage(answer, start) {
    const { status, data } = answer;
    if (status !== 422 || !Array.isArray(data.detail)) return statusMessage(status, data);
    return data.detail.map((error) => {
      const loc = error.loc || [];
      if (["rows", "texts", "images"].includes(loc[1]) && loc.length > 2) {
        const column = loc.length > 3 ? `, column ${loc[3]}` : "";
        return `Line ${start + Number(loc[2]) + 2}${column}: ${error.msg}`;
      }
      return `${loc.slice(1).join(" > ")}: ${error.msg}`;
    }).join("\n");
  }

  // The results table's cells of one prediction, after its row number (and patient).
  function summary(prediction) {
    if (config.regressor) {
      const value = prediction.value;
      return [typeof value === "object" ? JSON.stringify(value) : number(value)];
    }
    if (config.survival) {
      const median = prediction.median_time;
      return [number(prediction.risk), median === null ? "" : number(median)];
    }
    const label = Array.isArray(prediction.label)
      ? prediction.label.join(" ")
      : String(prediction.label);
    const probabilities = prediction.probabilities;
    const p = config.positive !== null
      ? probabilities[String(config.positive)]
      : Math.max(...Object.values(probabilities));
    const cells = [label, percent(p)];
    if (config.alpha !== null) cells.push((prediction.label_set || []).join(" | "));
    if (!missing(prediction.points)) cells.push(prediction.points.toFixed(0));
    return cells;
  }

  function summaryHeader(prediction) {
    if (config.regressor) return ["prediction"];
    if (config.survival) return ["risk", "median time"];
    const cells = ["label", config.positive !== null ? `P(${config.positive})` : "probability"];
    if (config.alpha !== null) cells.push(`${Math.round(100 * (1 - config.alpha))}% set`);
    if (!missing(prediction.points)) cells.push("points");
    return cells;
  }

  function showBatch({ predictions }) {
    // Visit sequences answer one prediction per patient, keyed by the patient column.
    const patient = config.kind === "events" ? Object.keys(predictions[0])[0] : null;
    const idOf = (prediction) => (patient === null ? [] : [String(prediction[patient])]);
    const header = [...(patient === null ? [] : [patient]), ...summaryHeader(predictions[0])];
    const lines = predictions.map((prediction) => [...idOf(prediction), ...summary(prediction)]);
    const rows = lines.map((cells, k) => {
      const tr = element(
        "tr", { "data-index": k },
        ...[String(k + 1), ...cells].map((cell) => element("td", { text: cell })),
      );
      tr.addEventListener("click", () => explainBatchRow(k));
      return tr;
    });
    const table = element(
      "table", { class: "results", id: "results-table" },
      element("thead", {}, element("tr", {}, ...["#", ...header].map(
        (name) => element("th", { text: name }),
      ))),
      element("tbody", {}, ...rows),
    );
    const csv = [header, ...lines]
      .map((cells) => cells.map((cell) => `"${String(cell).replaceAll('"', '""')}"`).join(","))
      .join("\n");
    const link = element("a", {
      href: URL.createObjectURL(new Blob([csv], { type: "text/csv" })),
      download: `${config.name}-predictions.csv`,
      text: "Download the predictions (CSV)",
    });
    const note = config.urls.explain ? "Click a row to see why." : "";
    byId("batch-results").replaceChildren(
      element("h3", { text: `${predictions.length} predictions` }),
      element("p", { class: "caption", text: note }),
      link,
      table,
    );
  }

  async function explainBatchRow(k) {
    const { items, predictions } = batch;
    showPrediction(predictions[k]);
    if (config.kind === "events") {
      const key = Object.keys(predictions[k])[0];
      const rows = items.filter((row) => String(row[key]) === String(predictions[k][key]));
      const answer = await post(config.urls.explain, { rows });
      if (answer.ok) showExplanation(answer.data, 0, null, null);
      return;
    }
    const item = items[k];
    const row = config.kind === "table" || config.kind === "transactions" ? item : null;
    // A transaction is explained with the file's other rows as its account's history, as
    // it was scored (only earlier transactions of the same account are read).
    const context = config.kind === "transactions"
      ? { history: items.filter((_, j) => j !== k) }
      : {};
    await explainOne(item, row, context);
  }

  buildForm();
  byId("case-form").addEventListener("submit", predictCase);
  byId("batch-button").addEventListener("click", predictBatch);
  document.body.dataset.ready = "true";
})();
