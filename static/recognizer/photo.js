// A phone photo made fit to send: a camera's 4000x3000 JPEG of 3 to 8 MB would spend a phone's data
// on pixels the server never reads (it reads a photo at about 512 pixels), so a photo that is too
// large, over the server's byte limit, or in a format the server does not read (HEIC, AVIF), is
// decoded by the browser, turned upright by its EXIF orientation, shrunk and sent as a JPEG (a PNG
// where it has transparency). A photo the browser cannot decode goes as it is if the server might
// take it (a JPEG, PNG or WebP within the byte limit), and the server says what is wrong with it;
// any other (a HEIC in Chrome) is refused here, before a phone spends its data on an upload the
// server would refuse.

// Long enough for the server (it reads a photo at about 512 pixels) and for a reviewer to see it.
const MAX_SIDE = 1600;
const JPEG_QUALITY = 0.9;
const SENT_AS_IS = ["image/jpeg", "image/png", "image/webp"];

function encoded(canvas, type, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the photo could not be encoded"))),
      type, quality);
  });
}

function hasTransparency(context, width, height) {
  const pixels = context.getImageData(0, 0, width, height).data;
  for (let alpha = 3; alpha < pixels.length; alpha += 4) {
    if (pixels[alpha] < 255) return true;
  }
  return false;
}

function renamed(file, extension) {
  return `${file.name.replace(/\.[^.]*$/, "") || "photo"}.${extension}`;
}

// In the page's language, as the sentence it goes in (in an Arabic browser's, the size was "١٠ ميغابايت").
const megabytes = (bytes) => new Intl.NumberFormat(document.documentElement.lang, {
  style: "unit", unit: "megabyte", maximumFractionDigits: 1,
}).format(bytes / 1024 ** 2);

function serverMightTake(file, maxBytes) {
  return file.size <= maxBytes && SENT_AS_IS.includes(file.type);
}

// `file` itself, which the browser could not make into a JPEG, when the server might take it.
function asItIs(file, maxBytes) {
  if (!serverMightTake(file, maxBytes)) {
    throw new Error(`This photo could not be read here: send a JPEG, PNG or WebP under ${megabytes(maxBytes)}.`);
  }
  return file;
}

// The file to upload for `file`: itself when the server can take it as it is, else an upright JPEG
// (a PNG where it has transparency) at most MAX_SIDE pixels on its longer side, and at least `minSide` on its
// shorter (a 4000x16 strip the server takes, shrunk to 1600x6, it refused). Throws, with a message for the
// person, when neither the browser nor the server could read it.
export async function photoToSend(file, maxBytes, minSide) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return asItIs(file, maxBytes);
  }
  try {
    const { width, height } = bitmap;
    if (Math.max(width, height) <= MAX_SIDE && serverMightTake(file, maxBytes)) {
      return file;
    }
    const scale = Math.min(1, Math.max(MAX_SIDE / Math.max(width, height), minSide / Math.min(width, height)));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    // A drawing exported on transparency stays a PNG: on the white a JPEG would need, a white
    // stroke would vanish. The server reads which of its pixels are the ink.
    if (hasTransparency(context, canvas.width, canvas.height)) {
      const png = await encoded(canvas, "image/png");
      if (png.size <= maxBytes) {
        return new File([png], renamed(file, "png"), { type: "image/png" });
      }
    }
    // JPEG has no transparency: what was transparent becomes white paper, not black.
    context.globalCompositeOperation = "destination-over";
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    const jpeg = await encoded(canvas, "image/jpeg", JPEG_QUALITY);
    return new File([jpeg], renamed(file, "jpg"), { type: "image/jpeg" });
  } catch {
    return asItIs(file, maxBytes);
  } finally {
    bitmap.close();
  }
}
