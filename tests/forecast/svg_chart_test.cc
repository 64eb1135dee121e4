#include "flopline/forecast/svg_chart.h"

#include <gtest/gtest.h>

namespace flopline::forecast {
namespace {

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

TEST(SvgChartTest, DrawsEverySeriesItsBandAndEscapesText) {
  Chart chart{"Cost of 1e26 FLOP <&>", "USD", {2024, 2025, 2026}, {}};
  chart.series.push_back({"cost", "#1f77b4", {8e8, 6e8, 4.5e8}, {4e8, 3e8, 2e8}, {9e8, 7e8, 5e8}, false});
  chart.series.push_back({"budget $2M", "#d62728", {2e6, 2e6, 2e6}, {}, {}, true});
  std::string svg = RenderSvg(chart);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(Count(svg, "class=\"series\""), 2u);
  EXPECT_EQ(Count(svg, "class=\"band\""), 1u);
  EXPECT_EQ(Count(svg, "stroke-dasharray"), 2u);  // the dashed line and its legend swatch
  EXPECT_NE(svg.find("&lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<&>"), std::string::npos);
  // Log axis: one grid label per decade from $1M to $1B.
  EXPECT_NE(svg.find(">$1M<"), std::string::npos);
  EXPECT_NE(svg.find(">$1B<"), std::string::npos);
}

TEST(SvgChartTest, EmptyChartIsStillValid) {
  std::string svg = RenderSvg(Chart{"empty", "USD", {}, {}});
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

}  // namespace
}  // namespace flopline::forecast
