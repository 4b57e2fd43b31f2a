namespace CovidServerless.TestSupport;

/// <summary>The shared data's val folders, as theory data: every modality with every label.</summary>
public static class ValFolders
{
    public static TheoryData<string, string> ModalitiesAndLabels()
    {
        var data = new TheoryData<string, string>();
        foreach (var modality in new[] { "chest", "ct" })
        {
            foreach (var label in new[] { "covid", "noncovid" })
            {
                data.Add(modality, label);
            }
        }

        return data;
    }
}
