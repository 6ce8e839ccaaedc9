//! Pictures of items: how an upload is judged, and the sizes made of it.
//!
//! An upload is judged by its bytes alone, never by its name or declared
//! type: JPEG, PNG, WebP and GIF (its first frame) are pictures; anything
//! else (SVG included: a document that can carry scripts) is not. Its
//! dimensions are read from its header before anything is decoded, so a
//! small file that claims a huge image (a decompression bomb) is refused
//! for the price of reading a few bytes; decoding is capped in memory as
//! well. What is kept is never the upload itself but sizes made from it
//! (the long side at most 160, 480 and 1280 pixels, never enlarged), turned
//! the right way up and encoded afresh: JPEG, or PNG where the picture has
//! transparency. Nothing of the upload's metadata (EXIF, GPS, comments)
//! survives re-encoding. Each size is named by the SHA-256 of its bytes.
//!
//! This is CPU work of tens to hundreds of milliseconds: callers run it on
//! bounded workers, never on the request threads. Where the sizes are kept
//! is [`store`]'s matter.

pub mod store;
pub mod upload;

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// The largest upload accepted.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most pixels a picture may have (40 megapixels).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The long sides of the sizes made, smallest first.
pub const SIZES: [u32; 3] = [160, 480, 1280];
/// JPEG quality of the sizes made.
const QUALITY: u8 = 82;
/// What decoding may allocate: a 40-megapixel picture with an alpha
/// channel, and some room.
const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 4 + 16 * 1024 * 1024;

/// Where pictures are prepared: one worker per core, as many jobs queued,
/// five seconds of patience for a place (then `Error::Busy`, a 503). Each
/// job holds one upload and its decoded pixels, so memory stays bounded
/// however many arrive.
pub fn workers() -> &'static crate::auth::workers::Workers {
    static WORKERS: std::sync::OnceLock<crate::auth::workers::Workers> = std::sync::OnceLock::new();
    WORKERS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        crate::auth::workers::Workers::new("picture", cores, cores, std::time::Duration::from_secs(5))
    })
}

/// What kind of picture an upload is, by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    WebP,
    Gif,
}

impl Kind {
    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::WebP => ImageFormat::WebP,
            Kind::Gif => ImageFormat::Gif,
        }
    }
}

/// The kind of picture `bytes` hold, by their first bytes (magic numbers).
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Kind::WebP)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Kind::Gif)
    } else {
        None
    }
}

/// Why an upload is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    TooLarge {
        bytes: usize,
    },
    NotAPicture,
    TooManyPixels {
        width: u32,
        height: u32,
    },
    /// Truncated, corrupt, or a picture the decoder cannot read.
    Unreadable,
}

impl Refusal {
    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty_upload",
            Refusal::TooLarge { .. } => "upload_too_large",
            Refusal::NotAPicture => "unsupported_picture",
            Refusal::TooManyPixels { .. } => "too_many_pixels",
            Refusal::Unreadable => "unreadable_picture",
        }
    }

    /// What to tell the person who uploaded it.
    pub fn message(&self) -> String {
        match self {
            Refusal::Empty => "The file is empty.".into(),
            Refusal::TooLarge { bytes } => format!(
                "The file has {:.1} MB; pictures may have at most {} MB.",
                *bytes as f64 / 1_048_576.0,
                MAX_BYTES / 1_048_576
            ),
            Refusal::NotAPicture => "This is not a JPEG, PNG, WebP or GIF picture.".into(),
            Refusal::TooManyPixels { width, height } => format!(
                "The picture is {width} × {height} pixels; at most {} megapixels are taken.",
                MAX_PIXELS / 1_000_000
            ),
            Refusal::Unreadable => "The picture cannot be read: the file is truncated or damaged.".into(),
        }
    }
}

/// One size made of a picture.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// The SHA-256 of `bytes`, in hexadecimal: its name wherever it is kept.
    pub digest: String,
}

/// A picture as it is kept: its dimensions the right way up, and its
/// sizes, smallest first, the last as large as it gets.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub kind: Kind,
    pub width: u32,
    pub height: u32,
    pub renditions: Vec<Rendition>,
}

/// Judges an upload and makes its sizes.
pub fn prepare(bytes: &[u8]) -> Result<Prepared, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(Refusal::TooLarge { bytes: bytes.len() });
    }
    let kind = sniff(bytes).ok_or(Refusal::NotAPicture)?;
    if !ends_whole(kind, bytes) {
        return Err(Refusal::Unreadable);
    }
    let (width, height) = reader(bytes, kind).into_dimensions().map_err(|_| Refusal::Unreadable)?;
    if width == 0 || height == 0 {
        return Err(Refusal::Unreadable);
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refusal::TooManyPixels { width, height });
    }
    let mut decoder = reader(bytes, kind).into_decoder().map_err(|_| Refusal::Unreadable)?;
    let orientation = decoder.orientation().ok();
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|_| Refusal::Unreadable)?;
    if let Some(orientation) = orientation {
        picture.apply_orientation(orientation);
    }
    let renditions = renditions(&picture)?;
    Ok(Prepared { kind, width: picture.width(), height: picture.height(), renditions })
}

/// Whether the file ends as its kind ends: decoders fill in what a
/// truncated file lacks rather than fail, so a cut-off upload is told by
/// its end. Padding of zero bytes after the end is allowed.
fn ends_whole(kind: Kind, bytes: &[u8]) -> bool {
    let end = bytes.iter().rposition(|&byte| byte != 0).map_or(0, |at| at + 1);
    let trimmed = &bytes[..end];
    match kind {
        Kind::Jpeg => trimmed.ends_with(&[0xFF, 0xD9]),
        // The IEND chunk's CRC ends in a zero-free byte; nothing is trimmed.
        Kind::Png => bytes.ends_with(b"IEND\xAE\x42\x60\x82"),
        Kind::Gif => trimmed.ends_with(b";"),
        Kind::WebP => {
            let declared = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
            usize::try_from(declared).is_ok_and(|declared| declared.saturating_add(8) <= bytes.len())
        }
    }
}

fn reader(bytes: &[u8], kind: Kind) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader
}

/// The long sides to make for a picture whose long side is `long`: each
/// size smaller than it, and the picture itself up to the largest size.
fn long_sides(long: u32) -> Vec<u32> {
    let largest = SIZES[SIZES.len() - 1];
    let mut sides: Vec<u32> = SIZES.iter().copied().filter(|&side| side < long).collect();
    let full = long.min(largest);
    if sides.last() != Some(&full) {
        sides.push(full);
    }
    sides
}

/// `(width, height)` scaled so that the long side is `side`, at least 1 × 1.
fn fitted(width: u32, height: u32, side: u32) -> (u32, u32) {
    let long = width.max(height);
    let scale =
        |value: u32| ((u64::from(value) * u64::from(side) + u64::from(long) / 2) / u64::from(long)).max(1);
    (u32::try_from(scale(width)).unwrap_or(side), u32::try_from(scale(height)).unwrap_or(side))
}

fn renditions(picture: &DynamicImage) -> Result<Vec<Rendition>, Refusal> {
    let (width, height) = (picture.width(), picture.height());
    let transparent = picture.color().has_alpha() && has_transparency(picture);
    // Largest first, each smaller size from the one before: resizing a
    // 1280-pixel picture is much cheaper than resizing the upload again.
    let mut made = Vec::new();
    let mut previous: Option<DynamicImage> = None;
    for side in long_sides(width.max(height)).into_iter().rev() {
        let (w, h) = fitted(width, height, side);
        let source = previous.as_ref().unwrap_or(picture);
        let sized = if (w, h) == (source.width(), source.height()) {
            None
        } else {
            Some(source.resize_exact(w, h, FilterType::CatmullRom))
        };
        made.push(encode(sized.as_ref().unwrap_or(source), transparent)?);
        if sized.is_some() {
            previous = sized;
        }
    }
    made.reverse();
    Ok(made)
}

fn has_transparency(picture: &DynamicImage) -> bool {
    match picture.as_rgba8() {
        // Decoded as 8-bit RGBA already (most pictures with alpha): no copy.
        Some(rgba) => rgba.pixels().any(|pixel| pixel.0[3] < 255),
        None => picture.to_rgba8().pixels().any(|pixel| pixel.0[3] < 255),
    }
}

fn encode(picture: &DynamicImage, transparent: bool) -> Result<Rendition, Refusal> {
    let mut bytes = Vec::new();
    let content_type = if transparent {
        picture
            .to_rgba8()
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .map_err(|_| Refusal::Unreadable)?;
        "image/png"
    } else {
        let rgb = picture.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, QUALITY)
            .encode_image(&rgb)
            .map_err(|_| Refusal::Unreadable)?;
        "image/jpeg"
    };
    let digest = Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(Rendition { width: picture.width(), height: picture.height(), content_type, bytes, digest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn encoded(picture: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        picture.write_to(&mut Cursor::new(&mut bytes), format).expect("encode");
        bytes
    }

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }))
    }

    /// CRC-32 of PNG chunks (ISO 3309), for a hand-made header.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn kinds_are_told_by_their_bytes() {
        let picture = gradient(8, 8);
        assert_eq!(sniff(&encoded(&picture, ImageFormat::Jpeg)), Some(Kind::Jpeg));
        assert_eq!(sniff(&encoded(&picture, ImageFormat::Png)), Some(Kind::Png));
        assert_eq!(sniff(&encoded(&picture, ImageFormat::Gif)), Some(Kind::Gif));
        assert_eq!(sniff(&encoded(&picture, ImageFormat::WebP)), Some(Kind::WebP));
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert_eq!(prepare(svg).unwrap_err(), Refusal::NotAPicture);
        assert_eq!(prepare(b"%PDF-1.7 ...").unwrap_err(), Refusal::NotAPicture);
        assert_eq!(prepare(b"").unwrap_err(), Refusal::Empty);
    }

    #[test]
    fn every_kind_is_made_into_sizes_that_are_never_enlarged() {
        let picture = gradient(2000, 1000);
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP, ImageFormat::Gif] {
            let prepared = prepare(&encoded(&picture, format)).expect("a picture");
            let sizes: Vec<(u32, u32)> = prepared.renditions.iter().map(|r| (r.width, r.height)).collect();
            assert_eq!(sizes, [(160, 80), (480, 240), (1280, 640)], "{format:?}");
            assert!(prepared.renditions.iter().all(|r| r.content_type == "image/jpeg"));
            assert_eq!((prepared.width, prepared.height), (2000, 1000));
        }
        let small = prepare(&encoded(&gradient(300, 200), ImageFormat::Png)).expect("a picture");
        let sizes: Vec<(u32, u32)> = small.renditions.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(sizes, [(160, 107), (300, 200)]);
        let tiny = prepare(&encoded(&gradient(100, 50), ImageFormat::Png)).expect("a picture");
        assert_eq!(tiny.renditions.len(), 1);
        assert_eq!((tiny.renditions[0].width, tiny.renditions[0].height), (100, 50));
    }

    #[test]
    fn each_size_is_named_by_the_hash_of_its_bytes() {
        let prepared = prepare(&encoded(&gradient(600, 600), ImageFormat::Png)).expect("a picture");
        for rendition in &prepared.renditions {
            let digest: String =
                Sha256::digest(&rendition.bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(rendition.digest, digest);
            assert_eq!(sniff(&rendition.bytes), Some(Kind::Jpeg));
        }
        let again = prepare(&encoded(&gradient(600, 600), ImageFormat::Png)).expect("a picture");
        assert_eq!(
            again.renditions[0].digest, prepared.renditions[0].digest,
            "the same picture, the same bytes"
        );
    }

    #[test]
    fn transparency_is_kept_as_png() {
        let picture = DynamicImage::ImageRgba8(RgbaImage::from_fn(40, 20, |x, _| {
            Rgba([200, 10, 10, if x < 20 { 0 } else { 255 }])
        }));
        let prepared = prepare(&encoded(&picture, ImageFormat::Png)).expect("a picture");
        assert_eq!(prepared.renditions[0].content_type, "image/png");
        let opaque = DynamicImage::ImageRgba8(RgbaImage::from_pixel(40, 20, Rgba([1, 2, 3, 255])));
        assert_eq!(
            prepare(&encoded(&opaque, ImageFormat::Png)).unwrap().renditions[0].content_type,
            "image/jpeg"
        );
    }

    #[test]
    fn a_bomb_is_refused_from_its_header_before_decoding() {
        // A valid PNG header claiming 60,000 × 60,000 pixels, and no data.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut header = b"IHDR".to_vec();
        header.extend_from_slice(&60_000u32.to_be_bytes());
        header.extend_from_slice(&60_000u32.to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&header);
        png.extend_from_slice(&crc32(&header).to_be_bytes());
        // A little compressed data that would inflate to gigabytes, and the end.
        for (kind, data) in [(&b"IDAT"[..], &[0x78, 0xDA, 0xED, 0xC1, 0x01, 0x0D][..]), (b"IEND", &[])] {
            let mut chunk = kind.to_vec();
            chunk.extend_from_slice(data);
            png.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
            png.extend_from_slice(&chunk);
            png.extend_from_slice(&crc32(&chunk).to_be_bytes());
        }
        assert_eq!(prepare(&png).unwrap_err(), Refusal::TooManyPixels { width: 60_000, height: 60_000 });
    }

    #[test]
    fn truncated_and_oversized_files_are_refused() {
        let jpeg = encoded(&gradient(300, 300), ImageFormat::Jpeg);
        assert_eq!(prepare(&jpeg[..jpeg.len() / 2]).unwrap_err(), Refusal::Unreadable);
        assert_eq!(prepare(&jpeg[..20]).unwrap_err(), Refusal::Unreadable);
        for format in [ImageFormat::Png, ImageFormat::WebP, ImageFormat::Gif] {
            let whole = encoded(&gradient(300, 300), format);
            assert_eq!(
                prepare(&whole[..whole.len() * 2 / 3]).unwrap_err(),
                Refusal::Unreadable,
                "{format:?}"
            );
        }
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0; 64]);
        assert!(prepare(&padded).is_ok(), "zero padding after the end");
        let mut huge = jpeg.clone();
        huge.resize(MAX_BYTES + 1, 0);
        assert_eq!(prepare(&huge).unwrap_err(), Refusal::TooLarge { bytes: MAX_BYTES + 1 });
    }

    #[test]
    fn metadata_does_not_survive() {
        let jpeg = encoded(&gradient(64, 64), ImageFormat::Jpeg);
        // An EXIF segment with a GPS position and a comment, right after SOI.
        let payload = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude 48.8584 N; secret comment";
        let mut with_exif = jpeg[..2].to_vec();
        with_exif.extend_from_slice(&[0xFF, 0xE1]);
        with_exif.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        with_exif.extend_from_slice(payload);
        with_exif.extend_from_slice(&jpeg[2..]);
        let prepared = prepare(&with_exif).expect("a picture with metadata");
        for rendition in &prepared.renditions {
            let text = String::from_utf8_lossy(&rendition.bytes);
            assert!(!text.contains("Exif") && !text.contains("GPS") && !text.contains("secret"));
        }
    }

    #[test]
    fn long_sides_cover_each_size_below_the_picture_and_the_picture() {
        assert_eq!(long_sides(4000), [160, 480, 1280]);
        assert_eq!(long_sides(1280), [160, 480, 1280]);
        assert_eq!(long_sides(700), [160, 480, 700]);
        assert_eq!(long_sides(160), [160]);
        assert_eq!(long_sides(10), [10]);
        assert_eq!(fitted(4000, 3000, 160), (160, 120));
        assert_eq!(fitted(1, 5000, 160), (1, 160));
    }
}
