// A set of AD IPsec objects as one byte string: the input format of ad_mapping_fuzz (and what its
// corpus generator writes). Not a directory format: it only lets libFuzzer mutate whole object
// sets, references and blobs alike. Each object in turn:
//   u8 class (AdClass), then the strings dn, ipsecName, description, ipsecID (u16 length, bytes),
//   u32 ipsecDataType, u32 length + ipsecData, u8 flags (1: ISAKMP reference, 2: negotiation
//   policy reference) and those references, three lists (u8 count, strings): NFA references,
//   filter references, owners references, then the negotiation policy type and action.
// All integers big-endian. Decoding stops at the first object that does not decode.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "directory/adblob/ad_object.h"

namespace ward::adblob {

std::vector<std::byte> encode_ad_object_set(std::span<const AdObject> objects);
std::vector<AdObject> decode_ad_object_set(std::span<const std::byte> bytes);

}  // namespace ward::adblob
