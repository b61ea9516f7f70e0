// The dashboard's charts (starter/api/routes/dashboard.py): Apache ECharts, served by the API from
// starter/static/vendor/ (fetched at install time). The figures are the page's own JSON
// (#dashboard-data); without ECharts the chart boxes stay hidden and the tables say it all.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var font = { fontFamily: "system-ui, 'Noto Sans CJK SC', sans-serif" };

  function chart(id, option) {
    var box = document.getElementById(id);
    if (!box) { return; }
    box.hidden = false;
    var c = window.echarts.init(box, null, { renderer: "svg" });
    option.textStyle = font;
    option.animation = false;
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }
  function percent(v) { return v === null ? null : Math.round(v * 1000) / 10; }

  chart("chart-months", {
    title: { text: "按月办件与按时办结率", left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, data: ["办件数", "逾期在办", "按时办结率(%)"] },
    xAxis: { type: "category", data: data.months },
    yAxis: [{ type: "value", name: "件" }, { type: "value", name: "%", min: 0, max: 100 }],
    series: [
      { name: "办件数", type: "bar", data: data.cases },
      { name: "逾期在办", type: "bar", data: data.overdue, itemStyle: { color: "#a10000" } },
      { name: "按时办结率(%)", type: "line", yAxisIndex: 1, connectNulls: true,
        data: data.on_time.map(percent) }
    ]
  });
  chart("chart-clock", {
    title: { text: "在办事项时限状态", left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "item" },
    legend: { bottom: 0 },
    color: ["#1d6b2f", "#d99a00", "#a10000"],
    series: [{ type: "pie", radius: ["35%", "60%"],
      data: data.clock.map(function (p) { return { name: p[0], value: p[1] }; }) }]
  });
  chart("chart-departments", {
    title: { text: "各部门按时办结率与督办", left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, data: ["按时办结率(%)", "督办次数"] },
    xAxis: { type: "category", data: data.departments },
    yAxis: [{ type: "value", name: "%", min: 0, max: 100 }, { type: "value", name: "次" }],
    series: [
      { name: "按时办结率(%)", type: "bar", data: data.department_on_time.map(percent) },
      { name: "督办次数", type: "bar", yAxisIndex: 1, data: data.department_escalations,
        itemStyle: { color: "#a10000" } }
    ]
  });
  chart("chart-reform", {
    title: { text: "跑动与材料: 逐项办理对比实测", left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, data: ["逐项办理", "实测"] },
    grid: { left: 200 },
    yAxis: { type: "category", data: data.reform.map(function (r) { return r.name; }) },
    xAxis: { type: "value" },
    series: [
      { name: "逐项办理", type: "bar", data: data.reform.map(function (r) { return r.baseline; }) },
      { name: "实测", type: "bar", data: data.reform.map(function (r) { return r.measured; }) }
    ]
  });
  document.documentElement.setAttribute("data-charts", "drawn");
})();
