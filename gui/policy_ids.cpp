#include "gui/policy_ids.h"

namespace ward::gui {

model::Policy new_policy() {
  model::Policy policy;
  policy.id = model::Guid::random();
  policy.key_exchange.id = model::Guid::random();
  policy.key_exchange.methods.push_back(model::KeyExchangeMethod{});
  return policy;
}

}  // namespace ward::gui
