// A phone photo made fit to send: a camera's 4000x3000 JPEG of 3 to 8 MB is over the server's byte
// limit, so a photo that is too large, or in a format the server does not read (WebP, HEIC), is
// decoded by the browser, turned upright by its EXIF orientation, shrunk and sent as a JPEG. A
// photo the browser cannot decode goes as it is, and the server says what is wrong with it.

// Long enough for the server (it reads a photo at about 512 pixels) and for a reviewer to see it.
const MAX_SIDE = 1600;
const JPEG_QUALITY = 0.9;
const SENT_AS_IS = ["image/jpeg", "image/png"];

function jpegOf(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the photo could not be encoded"))),
      "image/jpeg", JPEG_QUALITY);
  });
}

// The file to upload for `file`: itself when the server can take it as it is, else an upright JPEG
// at most MAX_SIDE pixels on its longer side.
export async function photoToSend(file, maxBytes) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file;
  }
  try {
    const { width, height } = bitmap;
    if (Math.max(width, height) <= MAX_SIDE && file.size <= maxBytes && SENT_AS_IS.includes(file.type)) {
      return file;
    }
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const context = canvas.getContext("2d");
    // JPEG has no transparency: what was transparent becomes white paper, not black.
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const jpeg = await jpegOf(canvas);
    const name = `${file.name.replace(/\.[^.]*$/, "") || "photo"}.jpg`;
    return new File([jpeg], name, { type: "image/jpeg" });
  } catch {
    return file;
  } finally {
    bitmap.close();
  }
}
