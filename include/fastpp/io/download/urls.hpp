#pragma once
// fastai's image datasets: the same URLs as fastai's `URLs` class (fastai/data/external.py) and the size and
// first-MiB MD5 that fastai registers for each (fastai/data/download_checks.py), so that untar_data checks a
// download exactly as fastai does. Only datasets whose check fastai ships are listed.
#include <cstdint>
#include <optional>
#include <string_view>

namespace fastpp {

// A dataset archive fastai knows: its short name (urls::<name> and the untar_data example take it), its URL
// and fastai's check (archive size in bytes, MD5 of its first 2^20 bytes).
struct KnownDataset {
  std::string_view name;
  std::string_view url;
  std::uint64_t size;
  std::string_view md5_first_mib;
};

namespace urls {

inline constexpr std::string_view s3 = "https://s3.amazonaws.com/fast-ai-";
#define FASTPP_URLS_SAMPLE "https://s3.amazonaws.com/fast-ai-sample/"
#define FASTPP_URLS_IMAGE "https://s3.amazonaws.com/fast-ai-imageclas/"
#define FASTPP_URLS_IMAGELOC "https://s3.amazonaws.com/fast-ai-imagelocal/"
#define FASTPP_URLS_COCO "https://s3.amazonaws.com/fast-ai-coco/"

// fastai's "main datasets" that hold images.
inline constexpr std::string_view mnist_sample = FASTPP_URLS_SAMPLE "mnist_sample.tgz";
inline constexpr std::string_view mnist_tiny = FASTPP_URLS_SAMPLE "mnist_tiny.tgz";
inline constexpr std::string_view mnist_var_size_tiny = FASTPP_URLS_IMAGE "mnist_var_size_tiny.tgz";
inline constexpr std::string_view planet_sample = FASTPP_URLS_SAMPLE "planet_sample.tgz";
inline constexpr std::string_view planet_tiny = FASTPP_URLS_SAMPLE "planet_tiny.tgz";
inline constexpr std::string_view cifar = FASTPP_URLS_SAMPLE "cifar10.tgz";
inline constexpr std::string_view dogs = FASTPP_URLS_SAMPLE "dogscats.tgz";
inline constexpr std::string_view biwi_sample = FASTPP_URLS_SAMPLE "biwi_sample.tgz";
inline constexpr std::string_view coco_sample = FASTPP_URLS_COCO "coco_sample.tgz";
inline constexpr std::string_view coco_tiny = FASTPP_URLS_COCO "coco_tiny.tgz";
inline constexpr std::string_view imagenette = FASTPP_URLS_IMAGE "imagenette2.tgz";
inline constexpr std::string_view imagenette_160 = FASTPP_URLS_IMAGE "imagenette2-160.tgz";
inline constexpr std::string_view imagenette_320 = FASTPP_URLS_IMAGE "imagenette2-320.tgz";
inline constexpr std::string_view imagewoof = FASTPP_URLS_IMAGE "imagewoof2.tgz";
inline constexpr std::string_view imagewoof_160 = FASTPP_URLS_IMAGE "imagewoof2-160.tgz";
inline constexpr std::string_view imagewoof_320 = FASTPP_URLS_IMAGE "imagewoof2-320.tgz";
inline constexpr std::string_view imagewang = FASTPP_URLS_IMAGE "imagewang.tgz";
inline constexpr std::string_view imagewang_160 = FASTPP_URLS_IMAGE "imagewang-160.tgz";
inline constexpr std::string_view imagewang_320 = FASTPP_URLS_IMAGE "imagewang-320.tgz";

// Image classification.
inline constexpr std::string_view caltech_101 = FASTPP_URLS_IMAGE "caltech_101.tgz";
inline constexpr std::string_view cars = FASTPP_URLS_IMAGE "stanford-cars.tgz";
inline constexpr std::string_view cifar_100 = FASTPP_URLS_IMAGE "cifar100.tgz";
inline constexpr std::string_view cub_200_2011 = FASTPP_URLS_IMAGE "CUB_200_2011.tgz";
inline constexpr std::string_view flowers = FASTPP_URLS_IMAGE "oxford-102-flowers.tgz";
inline constexpr std::string_view food = FASTPP_URLS_IMAGE "food-101.tgz";
inline constexpr std::string_view mnist = FASTPP_URLS_IMAGE "mnist_png.tgz";
inline constexpr std::string_view pets = FASTPP_URLS_IMAGE "oxford-iiit-pet.tgz";

// Image localization and segmentation.
inline constexpr std::string_view biwi_head_pose = FASTPP_URLS_IMAGELOC "biwi_head_pose.tgz";
inline constexpr std::string_view camvid = FASTPP_URLS_IMAGELOC "camvid.tgz";
inline constexpr std::string_view camvid_tiny = FASTPP_URLS_SAMPLE "camvid_tiny.tgz";
inline constexpr std::string_view lsun_bedrooms = FASTPP_URLS_IMAGE "bedroom.tgz";
inline constexpr std::string_view pascal_2007 = FASTPP_URLS_IMAGELOC "pascal_2007.tgz";
inline constexpr std::string_view pascal_2012 = FASTPP_URLS_IMAGELOC "pascal_2012.tgz";

// Medical imaging.
inline constexpr std::string_view siim_small = FASTPP_URLS_IMAGELOC "siim_small.tgz";
inline constexpr std::string_view tcga_small = FASTPP_URLS_IMAGELOC "tcga_small.tgz";

#undef FASTPP_URLS_SAMPLE
#undef FASTPP_URLS_IMAGE
#undef FASTPP_URLS_IMAGELOC
#undef FASTPP_URLS_COCO

// Every dataset above with fastai's check (copied from fastai/data/download_checks.py).
inline constexpr KnownDataset known_datasets[] = {
    {"mnist_sample", mnist_sample, 3214948, "2dbc7ec6f9259b583af0072c55816a88"},
    {"mnist_tiny", mnist_tiny, 342207, "56143e8f24db90d925d82a5a74141875"},
    {"mnist_var_size_tiny", mnist_var_size_tiny, 565372, "b71a930f4eb744a4a143a6c7ff7ed67f"},
    {"planet_sample", planet_sample, 15523994, "8bfb174b3162f07fbde09b54555bdb00"},
    {"planet_tiny", planet_tiny, 997569, "490873c5683454d4b2611fb1f00a68a9"},
    {"cifar", cifar, 168168549, "a5f8c31371b63a406b23368042812d3c"},
    {"dogs", dogs, 839285364, "3e483c8d6ef2175e9d395a6027eb92b7"},
    {"biwi_sample", biwi_sample, 593774, "9179f4c1435f4b291f0d5b072d60c2c9"},
    {"coco_sample", coco_sample, 3245877008ULL, "006cd55d633d94b36ecaf661467830ec"},
    {"coco_tiny", coco_tiny, 801038, "367467451ac4fba79a647753c2c66d3a"},
    {"imagenette", imagenette, 1557161267, "2c774ecb40005b35d7937d50f5d42336"},
    {"imagenette_160", imagenette_160, 99003388, "c475f8f7617a200ba35b9facc48443c3"},
    {"imagenette_320", imagenette_320, 341663724, "1f1f74f133caff120e575856659b87a2"},
    {"imagewoof", imagewoof, 1343715595, "2cc1c1e36e20cb6fd24ffb978edcb487"},
    {"imagewoof_160", imagewoof_160, 92612825, "3559b194123981a540b87132dbda412f"},
    {"imagewoof_320", imagewoof_320, 328387740, "7a1fd92672a559a85de76e4810a20c21"},
    {"imagewang", imagewang, 2900347689ULL, "2b7776bac0fc95db72ac8a3b091a3e30"},
    {"imagewang_160", imagewang_160, 191498213, "dab9b1d97b95574ac64122a19bc74ca1"},
    {"imagewang_320", imagewang_320, 669826647, "fff8ac034d60e14fcf7789845e625263"},
    {"caltech_101", caltech_101, 131740031, "d673425306e98ee4619fcdeef8a0e876"},
    {"cars", cars, 1957803273, "9045d6673c9ced0889f41816f6bf2f9f"},
    {"cifar_100", cifar_100, 169168619, "e5e65dcb54b9d3913f7b8a9ad6607e62"},
    {"cub_200_2011", cub_200_2011, 1150585339, "d2acaa99439dff0483c7bbac1bfe2a92"},
    {"flowers", flowers, 345236087, "5666e01c1311b4c67fcf20d2b3850a88"},
    {"food", food, 5686607260ULL, "1a540ebf1fb40b2bf3f2294234ba7907"},
    {"mnist", mnist, 15683414, "03639f83c4e3d19e0a3a53a8a997c487"},
    {"pets", pets, 811706944, "e4db5c768afd933bb91f5f594d7417a4"},
    {"biwi_head_pose", biwi_head_pose, 452316199, "00f4ccf66e8cba184bc292fdc08fb237"},
    {"camvid", camvid, 598913237, "648371e4f3a833682afb39b08a3ce2aa"},
    {"camvid_tiny", camvid_tiny, 2314212, "2cf6daf91b7a2083ecfa3e9968e9d915"},
    {"lsun_bedrooms", lsun_bedrooms, 4579163978ULL, "35d84f38f8a15fe47e66e460c8800d68"},
    {"pascal_2007", pascal_2007, 1637796771, "433b4706eb7c42bd74e7f784e3fdf244"},
    {"pascal_2012", pascal_2012, 2618908000ULL, "d90e29e54a4c76c0c6fba8355dcbaca5"},
    {"siim_small", siim_small, 33276453, "2f88ac350dce1d971ecbb5ec722da75f"},
    {"tcga_small", tcga_small, 14744474, "3ceffe7cf522cb1c60e93dc555d8817f"},
};

// The registered dataset with this URL, or nothing (fastai then checks nothing but the download's length).
constexpr std::optional<KnownDataset> find_by_url(std::string_view url) {
  for (const auto& d : known_datasets)
    if (d.url == url) return d;
  return std::nullopt;
}

// The registered dataset with this short name ("pets", "imagenette_160"), or nothing.
constexpr std::optional<KnownDataset> find_by_name(std::string_view name) {
  for (const auto& d : known_datasets)
    if (d.name == name) return d;
  return std::nullopt;
}

}  // namespace urls
}  // namespace fastpp
