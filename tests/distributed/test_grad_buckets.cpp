// GradBuckets (distributed/grad_buckets.hpp), the bucket plan both data-parallel callbacks use, without MPI or
// NCCL: the buckets' order and sizes, which gradient completes which bucket during backward, re-planning when
// parameters freeze, and the refusal of a parameter too large for one message.
#include <catch2/catch.hpp>

#include <fastpp/distributed/grad_buckets.hpp>

#include <map>
#include <string>

#include "../learner/helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

TEST_CASE("GradBuckets plans DDP's buckets in reverse parameter order and reports each one complete once",
          "[distributed]") {
  TempDir t;
  write_colour_dataset(t.path(), 2, 1);
  auto learn = make_learner(colour_dls(t.path(), 2), tiny_net(), {}, quiet_in(t.path()));
  std::map<std::string, float*> grad;  // TinyNet: conv 0.weight 216, BN 1.weight/1.bias 8 each, 6.weight 24, 6.bias 3
  learn.visit_params([&](const std::string& name, float*, float* g, std::int64_t) { grad[name] = g; });

  GradBuckets plan(40 * sizeof(float), 16 * sizeof(float));  // the first holds 16 floats, the others 40
  REQUIRE(plan.plan(learn));
  const auto& b = plan.buckets();
  REQUIRE(b.size() == 3);
  // [6.bias] (adding 6.weight would pass 16), [6.weight, 1.bias, 1.weight] = 40, [0.weight] alone (216 > 40)
  CHECK(b[0].count == 1);
  CHECK(b[0].size == 3);
  CHECK(b[1].count == 3);
  CHECK(b[1].size == 40);
  CHECK(b[2].count == 1);
  CHECK(b[2].size == 216);
  CHECK(plan.parts()[0].grad == grad.at("6.bias"));
  CHECK(plan.parts()[1].grad == grad.at("6.weight"));
  CHECK(plan.parts()[4].grad == grad.at("0.weight"));
  CHECK_FALSE(plan.plan(learn));  // nothing changed: the same plan

  plan.arm();
  CHECK(plan.ready(grad.at("0.weight")) == 2);
  CHECK(plan.ready(grad.at("0.weight")) == GradBuckets::none);  // reported twice: completes nothing again
  CHECK(plan.ready(grad.at("6.weight")) == GradBuckets::none);
  CHECK(plan.ready(grad.at("1.bias")) == GradBuckets::none);
  CHECK(plan.ready(grad.at("1.weight")) == 1);
  float other = 0.0f;
  CHECK(plan.ready(&other) == GradBuckets::none);  // not a planned gradient
  CHECK(plan.ready(grad.at("6.bias")) == 0);
  plan.arm();  // the next backward starts over
  CHECK(plan.ready(grad.at("6.bias")) == 0);

  // Frozen parameters have no gradient to average: the plan changes (the convolution's bucket goes).
  learn.freeze();
  CHECK(plan.plan(learn));
  CHECK(plan.buckets().size() == 2);

  learn.unfreeze();
  CHECK_THROWS_WITH(plan.plan(learn, 100), Catch::Contains("parameter 0.weight has 216 elements"));
  CHECK_THROWS_WITH(GradBuckets(2, 64), Catch::Contains("must hold one float"));
}
