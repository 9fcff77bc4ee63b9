"""Image classification from a folder of image files, end to end.

Lists the shipped synthetic shape images (`sample_data/vision/shapes`: one
sub-folder per class, PNG and JPEG, grayscale and RGB), splits the file list
into training and test files (stratified), trains an ImageClassifier on the
training files, compares it with logistic regression on the pixels, prints the
test report (accuracy, balanced accuracy, macro F1, top-k accuracy, confusion
matrix), saves the model to one file and loads it back, explains eight test
images with Grad-CAM, and writes `gradcam.png` and `confusion_matrix.png`.

    python examples/vision_image_classification.py [--data FOLDER] [--out-dir DIR]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from core.preprocessing.image_preprocessor import scan_folder
from domains.vision import ImageClassifier

SHAPES = Path(__file__).resolve().parents[1] / "sample_data" / "vision" / "shapes"


def pixel_baseline(train_files, y_train, test_files, y_test):
    """Accuracy of logistic regression on the flattened grayscale pixels."""
    import tensorflow as tf

    def pixels(files):
        decoded = [tf.io.decode_image(Path(f).read_bytes(), channels=1) for f in files]
        return np.stack([image.numpy().ravel() for image in decoded]).astype(np.float32) / 255.0

    model = LogisticRegression(max_iter=2000).fit(pixels(train_files), y_train)
    return model.score(pixels(test_files), y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHAPES), help="folder with one sub-folder per class")
    parser.add_argument(
        "--out-dir", default="vision_outputs", help="folder for the figures and model"
    )
    parser.add_argument("--epochs", type=int, default=60, help="training epochs (default 60)")
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    out = Path(args.out_dir)

    # The folder names are the labels; split the file list, not the folder.
    files, labels, classes = scan_folder(args.data)
    train, test = train_test_split(
        np.arange(len(files)), test_size=0.25, stratify=labels, random_state=0
    )
    train_files, test_files = [files[i] for i in train], [files[i] for i in test]
    y_train, y_test = labels[train], labels[test]
    print(
        f"{len(files)} images in {len(classes)} classes ({', '.join(classes)}): "
        f"{len(train_files)} to train on, {len(test_files)} held out"
    )

    # Files are streamed from disk; every image is resized to image_size (32x32).
    # A shape is the same shape mirrored or turned, so training may flip and rotate
    # the images freely (the defaults do not: a mirrored digit is another class).
    # 10% of 300 images is too small a validation set to stop on, so all 300 train
    # for a fixed number of epochs.
    clf = ImageClassifier(
        flip="horizontal_and_vertical",
        rotation=0.5,
        max_epochs=args.epochs,
        validation_fraction=0.0,
        random_state=0,
    ).fit(train_files, y_train)
    channels = "grayscale" if clf.preprocessor_.channels_ == 1 else "RGB"
    print(
        f"trained for {clf.n_epochs_} epochs in {clf.training_seconds_:.0f} s on "
        f"{clf.preprocessor_.image_size[0]}x{clf.preprocessor_.image_size[1]} {channels} images\n"
    )

    report = clf.report(test_files, y_test, k=2)
    print("held-out report:")
    print(f"  accuracy           {report['accuracy']:.3f}")
    print(f"  balanced accuracy  {report['balanced_accuracy']:.3f}")
    print(f"  macro F1           {report['macro_f1']:.3f}")
    print(f"  top-{report['k']} accuracy     {report['top_k_accuracy']:.3f}")
    baseline = pixel_baseline(train_files, y_train, test_files, y_test)
    print(f"  (logistic regression on the pixels: accuracy {baseline:.3f}; chance 0.25)")
    print("confusion matrix (rows: true class, columns: predicted):")
    print(report["confusion_matrix"].to_string(), "\n")

    path = clf.save(out / "shapes.kdm")
    reloaded = ImageClassifier.load(path)
    same = np.array_equal(reloaded.predict_proba(test_files), clf.predict_proba(test_files))
    print(f"saved to {path}; reloaded model predicts identically: {same}\n")

    # Grad-CAM: where in each image the predicted class was seen.
    examples = test_files[:8]
    heat = reloaded.explain(examples)
    proba = reloaded.predict_proba(examples)
    print("Grad-CAM on 8 test images (heat map peak, row and column of 32x32):")
    for file, truth, p, cam in zip(examples, y_test[:8], proba, heat, strict=True):
        predicted = reloaded.classes_[np.argmax(p)]
        if cam.max() > 0:
            row, col = np.unravel_index(np.argmax(cam), cam.shape)
            where = f"peak at ({row:2d}, {col:2d}), {np.mean(cam > 0.5):.0%} of pixels above 0.5"
        else:  # Grad-CAM keeps only positive evidence; here there was none.
            where = "empty map (no pixel adds to the class score)"
        print(
            f"  {Path(file).name:16s} true {truth:8s} predicted {predicted:8s} "
            f"p={p.max():.2f}  {where}"
        )
    reloaded.plot_explanations(examples, out / "gradcam.png")
    reloaded.plot_confusion_matrix(test_files, out / "confusion_matrix.png", y=y_test)
    print(f"\nwrote {out / 'gradcam.png'} and {out / 'confusion_matrix.png'}")


if __name__ == "__main__":
    main()
