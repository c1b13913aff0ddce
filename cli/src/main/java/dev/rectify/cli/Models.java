package dev.rectify.cli;

import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import java.nio.file.Path;

/** Opens the model a command's {@code --model}/{@code --device} options name: the bundled one when no folder is given. */
final class Models {
    private Models() {}

    static BaseModel open(Path folder, Device device) {
        return folder == null ? BaseModel.bundled(device) : BaseModel.open(folder, device);
    }

    static BaseModel open(Path folder, String device) {
        return open(folder, Device.parse(device));
    }
}
