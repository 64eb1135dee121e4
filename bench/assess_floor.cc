// The floor for `flopline assess` end to end (bench/assess_e2e.sh): start, load the same data tables,
// read and parse the model files into the inventory, link the lineage, exit. Nothing is judged or
// printed, so the difference between this and the real command is what judging and output cost.
//
//   build-rel/bench/assess_floor data/ FILE...
#include <cstdio>
#include <string>
#include <vector>

#include "flopline/rules/inventory.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: assess_floor DATA_DIR FILE...\n");
    return 2;
  }
  const std::string data = argv[1];
  auto accelerators = flopline::compute::AcceleratorTable::Load(data + "/accelerators.toml");
  auto prices = flopline::compute::PriceTable::Load(data + "/cloud-prices.toml");
  if (!accelerators || !prices) {
    std::fprintf(stderr, "assess_floor: cannot load the tables in %s\n", data.c_str());
    return 2;
  }
  std::vector<std::string> files(argv + 2, argv + argc);
  auto inventory = flopline::rules::LoadInventory(files, *accelerators, *prices);
  if (!inventory) {
    std::fprintf(stderr, "assess_floor: %s\n", inventory.error().ToString().c_str());
    return 2;
  }
  std::printf("%zu models, %zu events\n", inventory->models.size(), inventory->events.size());
  return 0;
}
