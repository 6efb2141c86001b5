/* The dashboard's charts (Chart.js, vendored). A <canvas data-chart="{labels, revenue, orders,
   currency}"> (or with "units" instead of "orders": the analytics page) is drawn when the page loads and again whenever htmx swaps new content in (the
   overview's range buttons), so the chart redraws in place. No inline script: CSP allows 'self'. */
(function () {
  "use strict";
  var charts = {};

  function draw(canvas) {
    if (typeof window.Chart === "undefined") return;
    var data;
    try { data = JSON.parse(canvas.getAttribute("data-chart")); } catch (e) { return; }
    if (charts[canvas.id]) charts[canvas.id].destroy();
    var styles = getComputedStyle(document.documentElement);
    var brand = styles.getPropertyValue("--brand").trim() || "#4f46e5";
    var accent = styles.getPropertyValue("--accent").trim() || "#0ea5e9";
    var line = data.units ? {label: "Units", values: data.units} : {label: "Orders", values: data.orders};
    charts[canvas.id] = new window.Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          {type: "bar", label: "Revenue (" + data.currency + ")", data: data.revenue, backgroundColor: brand,
           yAxisID: "revenue", order: 2},
          {type: "line", label: line.label, data: line.values, borderColor: accent, backgroundColor: accent,
           yAxisID: "orders", tension: 0.25, pointRadius: 2, order: 1}
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          revenue: {type: "linear", position: "left", beginAtZero: true},
          orders: {type: "linear", position: "right", beginAtZero: true, grid: {drawOnChartArea: false},
                   ticks: {precision: 0}}
        },
        plugins: {legend: {position: "bottom"}}
      }
    });
    canvas.setAttribute("data-drawn", canvas.getAttribute("data-period") || "yes");
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // after settle: htmx puts back the attributes of elements whose id matched (a canvas losing its
  // width and height is blank), so drawing before that would be wiped
  document.addEventListener("htmx:afterSettle", function () { drawAll(document); });
})();
