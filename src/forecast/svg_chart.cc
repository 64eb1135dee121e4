#include "flopline/forecast/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "flopline/core/format.h"

namespace flopline::forecast {
namespace {

constexpr double kWidth = 1000, kHeight = 500;
constexpr double kLeft = 90, kRight = 370, kTop = 50, kBottom = 60;
constexpr std::size_t kMaxLegend = 50;  // characters that fit beside the plot at 12px

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string RenderSvg(const Chart& chart) {
  // The y range: whole decades around every positive value drawn.
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  auto widen = [&](double v) {
    if (v > 0 && std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  };
  for (const ChartSeries& s : chart.series) {
    for (double v : s.values) widen(v);
    for (double v : s.band_low) widen(v);
    for (double v : s.band_high) widen(v);
  }
  if (!(hi > 0)) lo = hi = 1;
  const double decade_lo = std::floor(std::log10(lo)), decade_hi = std::max(std::ceil(std::log10(hi)), decade_lo + 1);
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  const int first = chart.years.empty() ? 0 : chart.years.front();
  const int last = chart.years.empty() ? 1 : std::max(chart.years.back(), first + 1);
  auto x = [&](int year) { return kLeft + plot_w * (year - first) / static_cast<double>(last - first); };
  auto y = [&](double v) { return kTop + plot_h * (decade_hi - std::log10(v)) / (decade_hi - decade_lo); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"28\" font-size=\"16\" font-weight=\"bold\">{3}</text>\n",
      kWidth, kHeight, kLeft, Escape(chart.title));
  // Grid and axes: a line per decade, a tick per year (thinned to at most ~12 labels).
  const int decade_step = static_cast<int>(std::ceil((decade_hi - decade_lo) / 10.0));
  for (double d = decade_lo; d <= decade_hi; d += decade_step) {
    double v = std::pow(10.0, d);
    svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                       kLeft, kLeft + plot_w, y(v), kLeft - 6, y(v) + 4, Escape(core::Dollars(v)));
  }
  const int year_step = std::max(1, static_cast<int>(std::ceil((last - first) / 12.0)));
  for (int year = first; year <= last; year += year_step) {
    svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#eee\"/>\n"
                       "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                       x(year), kTop, kTop + plot_h, kTop + plot_h + 18, year);
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n",
                     kLeft, kTop, plot_w, plot_h);
  svg += fmt::format("<text transform=\"translate(22,{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     kTop + plot_h / 2, Escape(chart.y_label));

  // Bands first, so that lines draw over them.
  for (const ChartSeries& s : chart.series) {
    if (s.band_low.size() != chart.years.size() || s.band_high.size() != chart.years.size()) continue;
    std::string points;
    for (std::size_t i = 0; i < chart.years.size(); ++i) {
      if (s.band_high[i] > 0) points += fmt::format("{:.1f},{:.1f} ", x(chart.years[i]), y(s.band_high[i]));
    }
    for (std::size_t i = chart.years.size(); i-- > 0;) {
      if (s.band_low[i] > 0) points += fmt::format("{:.1f},{:.1f} ", x(chart.years[i]), y(s.band_low[i]));
    }
    svg += fmt::format("<polygon class=\"band\" points=\"{}\" fill=\"{}\" fill-opacity=\"0.18\" stroke=\"none\"/>\n",
                       points, s.color);
  }
  double legend_y = kTop + 10;
  for (const ChartSeries& s : chart.series) {
    std::string points;
    for (std::size_t i = 0; i < chart.years.size() && i < s.values.size(); ++i) {
      if (s.values[i] > 0) points += fmt::format("{:.1f},{:.1f} ", x(chart.years[i]), y(s.values[i]));
    }
    svg += fmt::format("<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
                       points, s.color, s.dashed ? " stroke-dasharray=\"6,4\"" : "");
    svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\" stroke-width=\"2\"{4}/>\n"
                       "<text x=\"{5}\" y=\"{6:.1f}\">{7}</text>\n",
                       kLeft + plot_w + 12, kLeft + plot_w + 36, legend_y, s.color,
                       s.dashed ? " stroke-dasharray=\"6,4\"" : "", kLeft + plot_w + 42, legend_y + 4,
                       Escape(s.name.size() > kMaxLegend ? s.name.substr(0, kMaxLegend - 3) + "..." : s.name));
    legend_y += 20;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace flopline::forecast
