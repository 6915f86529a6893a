// Drawing an execution: the definition's graph, laid out by ELK (the Eclipse Layout Kernel,
// vendored), coloured by each state's status; and the timeline of its state runs.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const GROUP_TYPES = new Set(["Branch", "Processor"]);
const CONTAINER_TYPES = new Set(["Parallel", "Map", "Dag"]);

function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function textWidth(text, px) {
  return Math.ceil(String(text).length * px * 0.6);
}

// The API's `{nodes, edges}` as ELK's hierarchy: nodes nested through `parent`, each edge
// kept in its endpoints' common parent (they share one: edges never leave their scope).
function elkGraph(graph) {
  const byId = new Map();
  const root = { id: "__root", children: [], edges: [], layoutOptions: layoutOptions() };
  for (const node of graph.nodes) {
    byId.set(node.id, {
      id: node.id, node, children: [], edges: [],
      width: Math.max(110, textWidth(node.name, 12) + 28), height: 46,
      layoutOptions: layoutOptions(),
    });
  }
  for (const item of byId.values()) {
    const parent = item.node.parent ? byId.get(item.node.parent) : root;
    (parent || root).children.push(item);
  }
  for (const [i, edge] of graph.edges.entries()) {
    const from = byId.get(edge.from);
    if (!from || !byId.has(edge.to)) continue;
    const container = from.node.parent ? byId.get(from.node.parent) : root;
    const labels = edge.label ? [{ text: edge.label, width: textWidth(edge.label, 10), height: 12 }] : [];
    container.edges.push({ id: "e" + i, sources: [edge.from], targets: [edge.to], labels });
  }
  for (const item of byId.values()) {
    if (item.children.length) {
      delete item.width; delete item.height;
    }
  }
  return root;
}

function layoutOptions() {
  return {
    "elk.algorithm": "layered",
    "elk.direction": "DOWN",
    "elk.padding": "[top=40,left=14,bottom=14,right=14]",
    "elk.spacing.nodeNode": "24",
    "elk.layered.spacing.nodeNodeBetweenLayers": "34",
    "elk.edgeLabels.placement": "CENTER",
    "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
    "elk.nodeLabels.placement": "H_LEFT V_TOP INSIDE",
  };
}

// Lays out and draws a graph into `container`; returns a handle that recolours it.
async function drawGraph(container, graph, onSelect) {
  const elk = new ELK();
  const laidOut = await elk.layout(elkGraph(graph));
  container.textContent = "";
  const width = Math.max(laidOut.width || 0, 200);
  const height = Math.max(laidOut.height || 0, 60);
  const root = svg("svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, height }, container);
  const defs = svg("defs", {}, root);
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8792a5" }, marker);
  const shapes = new Map();
  drawChildren(root, laidOut, shapes, onSelect);
  return {
    colour(statusOf) {
      for (const [id, { el, node }] of shapes) {
        if (GROUP_TYPES.has(node.type)) continue;
        el.setAttribute("data-status", statusOf(node));
      }
    },
    select(id) {
      for (const [nodeId, { el }] of shapes) el.classList.toggle("selected", nodeId === id);
    },
  };
}

function drawChildren(parentEl, elkNode, shapes, onSelect) {
  for (const child of elkNode.children || []) {
    const node = child.node;
    const grouped = child.children && child.children.length;
    const kind = GROUP_TYPES.has(node.type) || (grouped && !CONTAINER_TYPES.has(node.type)) ? "group" : "node";
    const g = svg("g", {
      class: grouped ? `${kind} container` : kind,
      transform: `translate(${child.x},${child.y})`,
      "data-id": node.id, "data-name": node.name, "data-type": node.type,
    }, parentEl);
    svg("rect", { width: child.width, height: child.height, rx: grouped ? 8 : 6 }, g);
    const label = svg("text", { x: 10, y: grouped ? 18 : 20 }, g);
    label.textContent = node.name;
    if (kind === "node") {
      const type = svg("text", { x: 10, y: grouped ? 30 : 36, class: "type" }, g);
      type.textContent = node.type;
      g.addEventListener("click", (event) => { event.stopPropagation(); onSelect(node); });
    }
    shapes.set(node.id, { el: g, node });
    drawChildren(g, child, shapes, onSelect);
  }
  for (const edge of elkNode.edges || []) drawEdge(parentEl, edge);
}

function drawEdge(parentEl, edge) {
  const g = svg("g", { class: "edge" }, parentEl);
  for (const section of edge.sections || []) {
    const points = [section.startPoint, ...(section.bendPoints || []), section.endPoint];
    const d = points.map((p, i) => `${i ? "L" : "M"} ${p.x} ${p.y}`).join(" ");
    svg("path", { d, "marker-end": "url(#arrow)" }, g);
  }
  for (const label of edge.labels || []) {
    const text = svg("text", { x: label.x || 0, y: (label.y || 0) + 10 }, g);
    text.textContent = label.text;
  }
}

// The timeline: a row per state run, its bar from entry to exit (or now), its duration and
// how many attempts it took.
function drawTimeline(container, runs, now) {
  container.textContent = "";
  if (!runs.length) {
    container.textContent = "No state has run yet.";
    return;
  }
  const start = Math.min(...runs.map((r) => r.start));
  const end = Math.max(now, ...runs.map((r) => r.end || now));
  const span = Math.max(end - start, 1);
  const rowHeight = 20, labelWidth = 170, chartWidth = 640, durationWidth = 150;
  const width = labelWidth + chartWidth + durationWidth;
  const root = svg("svg", { class: "gantt", viewBox: `0 0 ${width} ${runs.length * rowHeight + 4}`, height: runs.length * rowHeight + 4 }, container);
  runs.forEach((run, i) => {
    const y = i * rowHeight + 2;
    const row = svg("g", { class: "run", "data-name": run.name, "data-status": run.status }, root);
    const name = svg("text", { x: 0, y: y + 13 }, row);
    name.textContent = run.name;
    const x = labelWidth + ((run.start - start) / span) * chartWidth;
    const w = Math.max(2, (((run.end || now) - run.start) / span) * chartWidth);
    svg("rect", { class: `bar ${run.status}`, x, y: y + 3, width: w, height: rowHeight - 6, rx: 2 }, row);
    const label = svg("text", { x: labelWidth + chartWidth + 8, y: y + 13 }, row);
    const retries = run.attempts > 1 ? `, ${run.attempts} attempts` : "";
    label.textContent = `${formatDuration((run.end || now) - run.start)}${run.end ? "" : "…"}${retries}`;
  });
}

function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}
