// Draws the dashboard's charts from the numbers the page embeds (the same ones its tables show).
(function () {
  "use strict";
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const timeline = read("analytics-timeline");
  const summary = read("analytics-summary");
  const labels = timeline.map((point) => point.label);
  const common = { responsive: true, maintainAspectRatio: false, animation: false };

  new Chart(document.getElementById("chart-timeline"), {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "질문", data: timeline.map((p) => p.queries), borderColor: "#417690", tension: 0.2 },
        { label: "오류", data: timeline.map((p) => p.errors), borderColor: "#ba2121", tension: 0.2 },
        { label: "답 못 함", data: timeline.map((p) => p.no_answers), borderColor: "#e6a100", tension: 0.2 },
      ],
    },
    options: common,
  });

  const ms = (name) => timeline.map((p) => p.response_time_ms[name]);
  new Chart(document.getElementById("chart-latency"), {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "p50", data: ms("p50"), borderColor: "#417690", spanGaps: true },
        { label: "p95", data: ms("p95"), borderColor: "#e6a100", spanGaps: true },
        { label: "p99", data: ms("p99"), borderColor: "#ba2121", spanGaps: true },
      ],
    },
    options: common,
  });

  new Chart(document.getElementById("chart-usage"), {
    type: "bar",
    data: {
      labels: summary.by_collection.map((c) => `${c.channel}/${c.collection_name}`),
      datasets: [{ label: "질문", data: summary.by_collection.map((c) => c.queries), backgroundColor: "#79aec8" }],
    },
    options: common,
  });

  new Chart(document.getElementById("chart-scores"), {
    type: "bar",
    data: {
      labels: summary.top_score.histogram.map((b) => b.lower.toFixed(2)),
      datasets: [{ label: "답변", data: summary.top_score.histogram.map((b) => b.count), backgroundColor: "#79aec8" }],
    },
    options: common,
  });
})();
