#include "driver/engine/spi_allocator.h"

#include <openssl/rand.h>

#include <array>
#include <cstring>

namespace ward::driver {
namespace {

std::uint32_t random_u32() {
  std::array<unsigned char, 4> raw{};
  // RAND_bytes fails only without an entropy source; the walk below still finds a free SPI then,
  // just a predictable one.
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) return 0;
  std::uint32_t value = 0;
  std::memcpy(&value, raw.data(), sizeof value);
  return value;
}

}  // namespace

SpiAllocator::SpiAllocator(SpiAllocatorOptions options, Clock clock, Random random)
    : options_(options), clock_(std::move(clock)), random_(random ? std::move(random) : Random(random_u32)) {}

void SpiAllocator::expire() {
  const auto now = clock_();
  std::erase_if(reservations_, [&](const auto& item) { return item.second.expires <= now; });
}

Expected<std::uint32_t, std::string> SpiAllocator::allocate(crypto::SecurityProtocol protocol, const IpAddress& peer, const InUse& in_use) {
  expire();
  if (reservations_.size() >= options_.max_reservations) {
    return unexpected("no inbound " + std::string(crypto::name_of(protocol)) + " SPI for " + peer.to_string() + ": " +
                      std::to_string(reservations_.size()) + " SPIs are reserved for negotiations already (the limit)");
  }
  const std::uint64_t size = std::uint64_t{options_.last} - options_.first + 1;
  const std::uint64_t start = random_() % size;
  // From a random point, the first free SPI: one walk, so a nearly full range (tests, or a host
  // with very many SAs) ends with a free SPI or the certainty that there is none.
  for (std::uint64_t step = 0; step < size; ++step) {
    const auto spi = static_cast<std::uint32_t>(options_.first + (start + step) % size);
    if (reservations_.contains(spi) || in_use(spi)) continue;
    reservations_[spi] = Reservation{protocol, peer, clock_() + options_.reservation};
    return spi;
  }
  return unexpected("no inbound " + std::string(crypto::name_of(protocol)) + " SPI for " + peer.to_string() + ": all " +
                    std::to_string(size) + " SPIs of " + std::to_string(options_.first) + "-" + std::to_string(options_.last) +
                    " are used by inbound SAs or reserved (" + std::to_string(reservations_.size()) + " reserved)");
}

const SpiAllocator::Reservation* SpiAllocator::reserved(std::uint32_t spi) {
  expire();
  const auto it = reservations_.find(spi);
  return it == reservations_.end() ? nullptr : &it->second;
}

Expected<void, std::string> SpiAllocator::release(std::uint32_t spi, crypto::SecurityProtocol protocol) {
  expire();
  const auto it = reservations_.find(spi);
  if (it == reservations_.end() || it->second.protocol != protocol) {
    return unexpected(std::string(crypto::name_of(protocol)) + " SPI " + std::to_string(spi) +
                      " is not reserved (installed, released or expired already)");
  }
  reservations_.erase(it);
  return {};
}

}  // namespace ward::driver
